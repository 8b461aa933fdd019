// Before a page has credentials (kiosk set-up, console sign-in) it still greets people in the
// tenant's language, with its name and clock: the public queue snapshot says all three.

import { request } from "./api.js";

/** Fetch the public snapshot and adopt the tenant's language and time zone; returns it. */
export async function learnTenant(config, i18n) {
  const snapshot = await request(`${config.api}/queue`);
  i18n.setTenant(snapshot.locale, snapshot.timezone);
  i18n.apply();
  return snapshot;
}
