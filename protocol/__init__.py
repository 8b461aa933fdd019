"""The QueueCast contract: topics, documents, identities. Pure: no I/O, no framework.

Publisher, broker, agents and tests import from here; nothing here imports from them.
"""

from protocol.auth import (
    DEVICE_ROLES,
    USER_ROLES,
    InvalidToken,
    Principal,
    Role,
    issue_token,
    verify_token,
)
from protocol.identifiers import DeviceId, InvalidIdentifier, TenantId, validate_identifier
from protocol.messages import (
    ENDED_STATUSES,
    PROTOCOL_VERSION,
    CallRecord,
    CounterInfo,
    CounterStatus,
    DevicePresence,
    Message,
    PresenceStatus,
    ProtocolError,
    QueueUpdate,
    ServiceQueue,
    Ticket,
    TicketStatus,
    TicketStatusChanged,
    TicketUpdate,
    WaitingTicket,
    decode,
    encode,
)

__all__ = [
    "DEVICE_ROLES",
    "ENDED_STATUSES",
    "PROTOCOL_VERSION",
    "USER_ROLES",
    "CallRecord",
    "CounterInfo",
    "CounterStatus",
    "DeviceId",
    "DevicePresence",
    "InvalidIdentifier",
    "InvalidToken",
    "Message",
    "PresenceStatus",
    "Principal",
    "ProtocolError",
    "QueueUpdate",
    "Role",
    "ServiceQueue",
    "TenantId",
    "Ticket",
    "TicketStatus",
    "TicketStatusChanged",
    "TicketUpdate",
    "WaitingTicket",
    "decode",
    "encode",
    "issue_token",
    "validate_identifier",
    "verify_token",
]
