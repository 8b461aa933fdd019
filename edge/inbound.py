"""Turn one received MQTT message into an input, or refuse it (logged, never raised).

The broker keeps other tenants' messages away from us, but an agent does not rely on that
alone: the topic must be one of ours, of our tenant, and the document's type and tenant must
match the topic. Anything else — malformed JSON, an unknown type, a foreign tenant — is logged
and dropped, so garbage on a topic can never stop a screen.
"""

from __future__ import annotations

import logging

from edge.inputs import NetworkInput, SnapshotReceived, TicketCleared, TicketReceived
from protocol import ProtocolError, QueueUpdate, TicketUpdate, decode
from protocol.topics import TopicKind, parse_topic

log = logging.getLogger(__name__)


def interpret(topic: str, payload: bytes, *, tenant: str) -> NetworkInput | None:
    ref = parse_topic(topic)
    if ref is None or ref.tenant != tenant:
        log.warning("ignored message on foreign topic %r", topic)
        return None
    if not payload:
        # An empty retained payload clears a topic: for a ticket it means "gone".
        if ref.kind is TopicKind.TICKET and ref.item is not None:
            return TicketCleared(ref.item)
        return None
    try:
        message = decode(payload)
    except ProtocolError as exc:
        log.warning("ignored malformed payload on %s: %s", topic, exc)
        return None
    if message.tenant != tenant:
        log.warning("ignored %s for tenant %r on %s", message.type, message.tenant, topic)
        return None
    if ref.kind is TopicKind.QUEUE and isinstance(message, QueueUpdate):
        return SnapshotReceived(message, live=True)
    if ref.kind is TopicKind.TICKET and isinstance(message, TicketUpdate):
        if message.ticket.id != ref.item:
            log.warning("ignored ticket %s published on %s", message.ticket.id, topic)
            return None
        return TicketReceived(message.ticket, message.seq)
    log.debug("ignored %s on %s (not used by agents)", message.type, topic)
    return None
