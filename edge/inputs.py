"""What reaches an agent's reducer from the outside world, and the shared effects it may return.

Inputs are produced by the MQTT link and the HTTP poller (threads) and by the runtime (ticks);
agents add their own (touches, HTTP job results). Effects are requests to the runtime: the
reducer stays pure and never touches sound, network or screen itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import QueueUpdate, Ticket


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The MQTT session is established and subscribed; a retained snapshot will follow."""


@dataclass(frozen=True, slots=True)
class LinkDown:
    reason: str


@dataclass(frozen=True, slots=True)
class PollResult:
    """One HTTP polling round finished; ``ok`` says whether the API answered."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SnapshotReceived:
    """A tenant snapshot, live over MQTT (``live=True``) or polled over HTTP."""

    snapshot: QueueUpdate
    live: bool


@dataclass(frozen=True, slots=True)
class TicketReceived:
    """A ticket's state: ``seq`` from a ``ticket_update``; ``None`` when polled over HTTP."""

    ticket: Ticket
    seq: int | None


@dataclass(frozen=True, slots=True)
class TicketCleared:
    """The ticket's retained topic was cleared (it ended a while ago) or it no longer exists."""

    ticket_id: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Once a second: lets time-based state (highlights, screen timeouts) move on."""


@dataclass(frozen=True, slots=True)
class AnnouncementStarted:
    """The player began announcing ``call_id`` (chime playing)."""

    call_id: str


NetworkInput = LinkUp | LinkDown | PollResult | SnapshotReceived | TicketReceived | TicketCleared


# --- effects every agent may return -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Announce:
    """Chime, then speech, for one call; queued behind any announcement already playing."""

    call_id: str
    number: str
    counter: int
    locale: str
    counter_name: str = ""  # what people call the counter ("Sala de Coleta 4"); spoken if set


@dataclass(frozen=True, slots=True)
class Follow:
    """Receive this ticket's updates (MQTT topic, or HTTP while polling)."""

    ticket_id: str


@dataclass(frozen=True, slots=True)
class Unfollow:
    ticket_id: str
