"""The API's start-up data: the dev tenant (dev mode only), the bootstrap superadmin, and the
guard against dev logins outside dev mode. Above the use cases, since seeding goes through them."""
