// The browser side of protocol/messages.py: recognise our documents (by "type" and "version"),
// ignore everything else, and keep snapshots in order by their per-tenant "seq".

import { ID_PATTERN } from "./identifiers.js"; // served from protocol/identifiers.py

export const PROTOCOL_VERSION = 1;
// ticket_update 2: its ticket carries call_id (new at every recall), which the phone announces.
export const TICKET_UPDATE_VERSION = 2;

// The versions of each document this page understands (protocol.messages.VERSIONS): queue_update
// 2 is the bounded document (the next tickets and waiting_total, not the whole list); 1 has the
// same fields. A page takes a ticket's place from its ticket document, never from the list.
// ticket_update 1 had no call_id, so a recall could not be told apart: ignored.
const VERSIONS = {
  queue_update: [1, 2],
  ticket_update: [TICKET_UPDATE_VERSION],
  ticket_status_changed: [PROTOCOL_VERSION],
  device_presence: [PROTOCOL_VERSION],
};

export class ProtocolError extends Error {}

const SHAPES = {
  queue_update: (d) =>
    Number.isInteger(d.seq) &&
    ["waiting", "services", "counters", "last_calls"].every((k) => Array.isArray(d[k])),
  ticket_update: (d) => Number.isInteger(d.seq) && isTicket(d.ticket),
  ticket_status_changed: (d) => isTicket(d.ticket),
  device_presence: (d) => typeof d.device_id === "string" && typeof d.status === "string",
};

/**
 * Decode one MQTT payload (bytes or text). Returns null for an empty payload (a cleared retained
 * topic); throws ProtocolError for anything that is not one of our documents, so callers can log
 * and ignore it.
 */
export function decode(payload) {
  const text = typeof payload === "string" ? payload : new TextDecoder().decode(payload);
  if (text.length === 0) return null;
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ProtocolError("payload is not JSON");
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new ProtocolError("not an object");
  const shape = SHAPES[doc.type];
  if (!shape) throw new ProtocolError(`unknown type ${JSON.stringify(doc.type)}`);
  // A newer version may have changed a field's meaning: this page only understands its own.
  if (!VERSIONS[doc.type].includes(doc.version)) throw new ProtocolError(`unsupported version ${doc.version}`);
  if (!shape(doc)) throw new ProtocolError(`malformed ${doc.type}`);
  return doc;
}

/** A ticket fetched over HTTP, as the ticket_update it would have been over MQTT (no seq). */
export function ticketDocument(tenant, ticket) {
  return { type: "ticket_update", version: TICKET_UPDATE_VERSION, tenant, seq: null, ticket };
}

/**
 * Applies each snapshot at most in seq order: a queue_update (or one ticket's ticket_update)
 * whose seq is lower than one already applied is stale (a late retained copy, a slow poll).
 * Equal seq is accepted: the same state again is harmless. Events are not snapshots: not gated.
 */
export class SeqGate {
  constructor() {
    this.applied = new Map();
  }

  accept(doc) {
    const key = gateKey(doc);
    if (key === null || !Number.isInteger(doc.seq)) return true;
    const last = this.applied.get(key);
    if (last !== undefined && doc.seq < last) return false;
    this.applied.set(key, doc.seq);
    return true;
  }
}

function gateKey(doc) {
  if (doc.type === "queue_update") return "queue";
  if (doc.type === "ticket_update") return `ticket:${doc.ticket.id}`;
  return null;
}

function isTicket(t) {
  return Boolean(t) && typeof t === "object" && typeof t.id === "string" && typeof t.status === "string";
}


/**
 * A device's own presence topic, from the tenant's presence wildcard the server built with
 * protocol.topics (".../devices/+/status"): only the "+" level is filled in, after validation.
 */
export function presenceTopic(devicesWildcard, deviceId) {
  if (!ID_PATTERN.test(deviceId)) throw new ProtocolError(`invalid device id ${JSON.stringify(deviceId)}`);
  return devicesWildcard.replace("/+/", `/${deviceId}/`);
}

/** A device_presence document (protocol.DevicePresence), encoded. */
export function presencePayload(tenant, deviceId, role, status) {
  return JSON.stringify({ type: "device_presence", version: PROTOCOL_VERSION, tenant, device_id: deviceId, role, status });
}
