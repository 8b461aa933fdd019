"""Closing the live connections of revoked tokens.

Each identity connected right now is checked once with ``token_active`` (in a worker thread: it
reads the database), and the connections of those no longer honoured are closed; their next
CONNECT is refused by the same check. In the API's process this runs right after a commit that
changed who may connect; a broker run apart (``python -m broker``) hears of no commit, so it runs
it every ``interval`` seconds.
"""

from __future__ import annotations

import asyncio
import logging

from broker.auth import TokenActive
from broker.embedded import EmbeddedBroker
from protocol import Principal

logger = logging.getLogger(__name__)


async def close_revoked(broker: EmbeddedBroker, token_active: TokenActive) -> int:
    """One pass: close the connections of every connected identity whose token is revoked."""
    connected = broker.connected_principals()
    if not connected:
        return 0

    def revoked_among(principals: set[Principal]) -> set[Principal]:
        return {p for p in principals if not token_active(p)}

    revoked = await asyncio.to_thread(revoked_among, connected)
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
