"""The seam between committed queue state and MQTT.

The REST side tells a :class:`ChangeSink` about every committed change (in commit order, without
blocking), handing over the state it committed (:class:`CommittedState`): the publisher reads
nothing back. A :class:`StateSource` reads the database only to publish everything again (start-up,
reconnect). Neither side knows the other's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from protocol import Principal, QueueUpdate, Ticket, TicketStatusChanged


class CommittedState(Protocol):
    """A tenant's state as one commit left it; immutable, safe to read from any thread."""

    @property
    def update(self) -> QueueUpdate:
        """The bounded queue document."""

    @property
    def changed(self) -> Mapping[str, Ticket]:
        """Documents of the tickets this commit touched."""

    def waiting_places(self) -> Iterator[tuple[str, int]]:
        """Every waiting ticket's id and place in its line, in call order, lazily (a walk of
        the whole queue: for follower updates, off the write path, in slices)."""

    def waiting_document(self, ticket_id: str, position: int) -> Ticket:
        """The document of a waiting ticket at ``position``."""


@dataclass(frozen=True, slots=True)
class TenantChanged:
    """One committed change of one tenant: its new ``seq``, the tickets whose state changed and
    the events to announce, already in order, and the state it committed (``None`` when the
    tenant was deleted)."""

    tenant: str
    seq: int
    ticket_ids: tuple[str, ...] = ()
    events: tuple[TicketStatusChanged, ...] = field(default=())
    state: CommittedState | None = None
    deleted: bool = False
    """The tenant was deleted: nothing of it is published any more."""


class ChangeSink(Protocol):
    def notify(self, change: TenantChanged) -> None:
        """Called right after the commit, in commit order per tenant. Must not block."""

    def credentials_changed(self, tenant: str) -> None:
        """A commit changed who may connect (device token rotated or removed, user changed or
        removed): live connections whose token stopped being valid must be closed. Must not
        block."""


class StateSource(Protocol):
    """Current state read from the database, for publishing. Blocking; called off the loop."""

    def tenant_ids(self) -> Sequence[str]: ...

    def queue_update(self, tenant: str) -> QueueUpdate | None:
        """The tenant's snapshot (the ``GET /queue`` document); ``None`` if the tenant is gone."""

    def ticket(self, tenant: str, ticket_id: str) -> Ticket | None: ...

    def retained_tickets(self, tenant: str, ended_after: datetime) -> Sequence[Ticket]:
        """Tickets whose topic should hold state: every unfinished ticket, plus those that
        ended after ``ended_after`` (still inside the clearing grace period)."""


class NullSink:
    """A sink that publishes nothing (tools and tests that need no MQTT)."""

    def notify(self, change: TenantChanged) -> None:
        return None

    def credentials_changed(self, tenant: str) -> None:
        return None


TokenActive = Callable[[Principal], bool]
"""Whether a principal whose token verified is still allowed (device not deleted, token not
rotated, user not removed). Blocking, cheap; the broker asks once per principal until
``ChangeSink.credentials_changed`` says its tenant changed (see broker.verdicts)."""
