"""Closing the live connections of revoked tokens, and keeping the remembered revocation answers
(:mod:`broker.verdicts`) current.

Each identity connected right now is checked once with ``token_active`` (in a worker thread: it
reads the database), and the connections of those no longer honoured are closed; their next
CONNECT is refused by the same check. In the API's process :func:`credentials_changed` runs right
after a commit that changed who may connect: it first forgets the answers remembered for the
tenant's identities, so no CONNECT after it relies on one. A broker run apart
(``python -m broker``) hears of no commit, so :func:`close_revoked_every` runs every ``interval``
seconds and the answers it reads refresh the remembered ones (which expire after that same
interval).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from broker.auth import TokenActive
from broker.embedded import EmbeddedBroker
from protocol import Principal

logger = logging.getLogger(__name__)

_passes: set[asyncio.Task[int]] = set()


def credentials_changed(broker: EmbeddedBroker, token_active: TokenActive, tenant: str) -> None:
    """A commit changed who of ``tenant`` may connect (``""``: a tenant-less superadmin). Call
    on the broker's loop: the remembered answers are forgotten before this returns, then a pass
    closes what is revoked. Tenant-less principals (superadmins) are re-checked on every
    change: cheap, and a superadmin's sign-out belongs to no tenant."""

    def affected(principal: Principal) -> bool:
        return principal.tenant is None or principal.tenant == tenant

    broker.verdicts.forget(affected)
    task = asyncio.get_running_loop().create_task(close_revoked(broker, token_active, affected))
    _passes.add(task)  # held until done: nothing else awaits it
    task.add_done_callback(_passes.discard)


async def close_revoked(
    broker: EmbeddedBroker,
    token_active: TokenActive,
    affected: Callable[[Principal], bool] | None = None,
) -> int:
    """One pass: close the connections of every connected identity (of those ``affected``)
    whose token is revoked; the answers read are remembered."""
    connected = broker.connected_principals()
    if affected is not None:
        connected = {p for p in connected if affected(p)}
    if not connected:
        return 0
    generation = broker.verdicts.generation

    def answers(principals: set[Principal]) -> dict[Principal, bool]:
        return {p: bool(token_active(p)) for p in principals}

    active = await asyncio.to_thread(answers, connected)
    for principal, answer in active.items():
        broker.verdicts.remember(principal, answer, generation)
    revoked = {p for p, answer in active.items() if not answer}
    if not revoked:
        return 0
    closed = await broker.disconnect(revoked.__contains__)
    logger.info("closed %d connection(s) of %d revoked token(s)", closed, len(revoked))
    return closed


async def close_revoked_every(
    broker: EmbeddedBroker, token_active: TokenActive, interval: float
) -> None:
    """Run :func:`close_revoked` forever; a failed pass (database away) is logged and retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            await close_revoked(broker, token_active)
        except Exception:
            logger.exception("revocation check failed; connections kept until the next one")
