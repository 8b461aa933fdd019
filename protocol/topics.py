"""MQTT topic names: the only place in the project where topic strings are written.

Every topic lives under ``tenant/<tenant-id>/``; the broker's isolation rules and every
subscriber rely on that prefix, so nothing else may build topic strings by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocol.identifiers import validate_identifier

ROOT = "tenant"


class TopicKind(StrEnum):
    QUEUE = "queue"
    TICKET = "tickets"
    EVENTS = "events"
    DEVICE_STATUS = "devices"


def queue_topic(tenant: str) -> str:
    """Retained ``queue_update`` snapshot of one tenant (QoS 1)."""
    return f"{ROOT}/{validate_identifier(tenant, what='tenant id')}/queue"


def ticket_topic(tenant: str, ticket_id: str) -> str:
    """Retained ``ticket_update`` of one ticket; cleared a grace period after the ticket ends."""
    return f"{ROOT}/{validate_identifier(tenant, what='tenant id')}/tickets/{_level(ticket_id)}"


def ticket_wildcard(tenant: str) -> str:
    """Every ticket topic of one tenant."""
    return f"{ROOT}/{validate_identifier(tenant, what='tenant id')}/tickets/+"


def events_topic(tenant: str) -> str:
    """Non-retained ``ticket_status_changed`` events of one tenant."""
    return f"{ROOT}/{validate_identifier(tenant, what='tenant id')}/events"


def device_status_topic(tenant: str, device_id: str) -> str:
    """Retained presence (``device_presence`` online/offline, the offline one as the Will)."""
    tenant = validate_identifier(tenant, what="tenant id")
    return f"{ROOT}/{tenant}/devices/{validate_identifier(device_id, what='device id')}/status"


def device_status_wildcard(tenant: str) -> str:
    """Every device presence topic of one tenant (the operator console shows them)."""
    return f"{ROOT}/{validate_identifier(tenant, what='tenant id')}/devices/+/status"


def tenant_wildcard(tenant: str) -> str:
    """Everything of one tenant."""
    return f"{ROOT}/{validate_identifier(tenant, what='tenant id')}/#"


def public_topics(tenant: str) -> tuple[str, ...]:
    """The filters a ``public`` (anonymous page) client may subscribe to."""
    return (queue_topic(tenant), events_topic(tenant), ticket_wildcard(tenant))


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A parsed topic name of ours. ``item`` is the ticket or device id where there is one."""

    tenant: str
    kind: TopicKind
    item: str | None = None


def parse_topic(topic: str) -> TopicRef | None:
    """Parse a concrete topic name (no wildcards); ``None`` if it is not one of ours."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != ROOT or any(p in ("+", "#") for p in parts):
        return None
    try:
        tenant = validate_identifier(parts[1], what="tenant id")
    except ValueError:
        return None
    rest = parts[2:]
    if rest == ["queue"]:
        return TopicRef(tenant, TopicKind.QUEUE)
    if rest == ["events"]:
        return TopicRef(tenant, TopicKind.EVENTS)
    if len(rest) == 2 and rest[0] == "tickets" and rest[1]:
        return TopicRef(tenant, TopicKind.TICKET, rest[1])
    if len(rest) == 3 and rest[0] == "devices" and rest[2] == "status" and rest[1]:
        return TopicRef(tenant, TopicKind.DEVICE_STATUS, rest[1])
    return None


def filter_matches(topic_filter: str, topic: str) -> bool:
    """MQTT 3.1.1 topic filter matching (§4.7), pure.

    ``$``-topics never match a filter that starts with a wildcard (§4.7.2).
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    for i, f in enumerate(f_parts):
        if f == "#":
            return i == len(f_parts) - 1
        if i >= len(t_parts):
            return False
        if f != "+" and f != t_parts[i]:
            return False
    return len(f_parts) == len(t_parts)


def _level(value: str) -> str:
    if not value or any(c in value for c in "/+#\x00"):
        raise ValueError(f"invalid topic level {value!r}")
    return value
