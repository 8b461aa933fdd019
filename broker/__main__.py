"""``python -m broker``: the broker alone (TCP on QUEUECAST_MQTT_TCP_PORT, default 1883;
MQTT over WebSocket at /mqtt on QUEUECAST_MQTT_WS_PORT, default 8083).

It reads the API's database (``QUEUECAST_DATABASE_URL``, the same default as the API) to honour
revocations: a rotated or deleted device token, or a removed user, is refused at CONNECT and its
live connections are closed within ``QUEUECAST_MQTT_REVOCATION_CHECK_S`` (default 30 s: an answer
read from the database is relied on for that long, see :mod:`broker.verdicts`). While
the database cannot be read, devices and users are refused (fail closed); ``public`` and the
API's own ``publisher`` tokens have nothing to revoke and are not affected.

It listens before it loads the database layer (SQLAlchemy and ``credentials``: most of its
start-up imports, seconds when their bytecode is not cached yet, as on a fresh install),
which then loads in a worker thread; a CONNECT that needs the database before that waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from functools import partial

from broker.auth import TokenActive
from broker.embedded import EmbeddedBroker
from broker.heap import settle_for_connections
from broker.revocation import close_revoked_every
from config import Settings, get_settings
from config.fd_budget import raise_open_files_limit
from protocol import Principal

logger = logging.getLogger("broker")

STANDALONE_WS_PORT = 8083


def standalone_settings(settings: Settings) -> Settings:
    if settings.mqtt_ws_port is None:
        return settings.model_copy(update={"mqtt_ws_port": STANDALONE_WS_PORT})
    return settings


class DatabaseTokenCheck:
    """Whether a token is still honoured, read from the API's database at each call through
    :mod:`credentials` (this process hears of no commit, so it remembers nothing). The
    database layer is loaded on first use, or by :meth:`load` ahead of time; callers are
    worker threads (blocking by contract)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._check: TokenActive | None = None

    def load(self) -> TokenActive:
        with self._lock:
            if self._check is None:
                # The database layer is loaded here, only once the listeners are up; the
                # reads and the rule are the API's own (credentials), not a copy.
                from credentials import DatabaseFacts, read_engine, token_active

                facts = DatabaseFacts(read_engine(self._settings.effective_database_url).connect)
                self._check = partial(token_active, facts=facts)
            return self._check

    def __call__(self, principal: Principal) -> bool:
        return self.load()(principal)


async def serve(settings: Settings) -> None:
    token_active = DatabaseTokenCheck(settings)
    broker = EmbeddedBroker(settings, token_active=token_active, beside_http=False)
    await broker.start()
    loading = asyncio.get_running_loop().run_in_executor(None, token_active.load)
    loading.add_done_callback(_report_load_failure)
    settle_for_connections()
    sweeper = asyncio.create_task(
        close_revoked_every(broker, token_active, settings.mqtt_revocation_check_s)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        sweeper.cancel()
        await broker.stop()


def _report_load_failure(loading: asyncio.Future[TokenActive]) -> None:
    if not loading.cancelled() and loading.exception() is not None:
        logger.error(
            "cannot load the database layer: %r (devices and users are refused until it loads)",
            loading.exception(),
        )


def main() -> None:
    settings = standalone_settings(get_settings())
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    raise_open_files_limit()
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        runner.run(serve(settings))


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (it comes with uvicorn[standard], and the API's process runs on it):
    accepting and serving connections costs less CPU than on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
