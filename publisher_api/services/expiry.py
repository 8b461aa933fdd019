"""The sweeper's write: end what the domain says has expired (call timeout, close of day) and
close counters left open overnight, through the ordinary writer, so each automatic change is
committed, stamped with a new ``seq`` and published (snapshot, ticket topics, events) exactly
like an operator's.

:class:`Sweeper` runs it for every tenant every ``QUEUECAST_SWEEP_INTERVAL_S`` in the API's
lifespan; tests call :func:`expire_op` with a frozen clock (``Writer.run(..., now=...)``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from publisher_api.domain import counters as cn
from publisher_api.domain.expiry import counters_to_close, expired
from publisher_api.domain.numbering import local_day
from publisher_api.services import counters
from publisher_api.services.changes import Change, Operation
from publisher_api.services.tickets import Action, TicketService

log = logging.getLogger(__name__)


def expire_op(tickets: TicketService) -> Operation[int]:
    """One tenant's expiry at the transaction's clock; the number of changes made."""

    def op(change: Change) -> Callable[[], int]:
        tenant, now = change.tenant, change.now
        # Only a called ticket can time out; waiting ones end only at close of day, so unless
        # the oldest unfinished ticket is from an earlier local day, the few held ones are all
        # there is to look at (a sweep must not cost a scan of thousands waiting).
        oldest = change.oldest_created()
        earlier_day = oldest is not None and local_day(oldest, tenant.timezone) < local_day(
            now, tenant.timezone
        )
        due = expired(
            change.open_tickets() if earlier_day else change.held_tickets(),
            now=now,
            timezone=tenant.timezone,
            call_timeout_s=tenant.call_timeout_s,
        )
        for item in due:
            row = change.ticket(item.ticket_id)
            assert row is not None
            tickets.apply_action(change, row, Action(item.command, reason=item.reason))
        numbers = counters_to_close(
            ((c.number, c.state) for c in change.counters()),
            now=now,
            timezone=tenant.timezone,
        )
        for number in numbers:
            counter = change.counter(number)
            assert counter is not None
            counters.apply(change, counter, cn.Close(by=counters.SYSTEM, at=now))
        made = len(due) + len(numbers)
        return lambda: made

    return op


class Sweeper:
    """Every ``interval_s``: :func:`expire_op` for each tenant, through ``write`` (the runtime's
    batching writer). A failure is logged and the next round tries again."""

    def __init__(
        self,
        tickets: TicketService,
        tenants: Callable[[], Awaitable[Sequence[str]]],
        write: Callable[[str, Operation[int]], Awaitable[int]],
        interval_s: float,
    ) -> None:
        self.tickets = tickets
        self.tenants = tenants
        self.write = write
        self.interval_s = interval_s

    async def sweep(self) -> int:
        made = 0
        for tenant in await self.tenants():
            try:
                made += await self.write(tenant, expire_op(self.tickets))
            except Exception:
                log.exception("expiry of tenant %s failed; retrying next round", tenant)
        return made

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                made = await self.sweep()
            except Exception:
                log.exception("sweep failed; retrying next round")
                continue
            if made:
                log.info("sweeper ended or closed %d ticket(s)/counter(s)", made)
