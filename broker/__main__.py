"""``python -m broker``: the broker alone (TCP on QUEUECAST_MQTT_TCP_PORT, default 1883;
MQTT over WebSocket at /mqtt on QUEUECAST_MQTT_WS_PORT, default 8083).

It reads the API's database (``QUEUECAST_DATABASE_URL``, the same default as the API) to honour
revocations: a rotated or deleted device token, or a removed user, is refused at CONNECT and its
live connections are closed within ``QUEUECAST_MQTT_REVOCATION_CHECK_S`` (default 30 s). While
the database cannot be read, devices and users are refused (fail closed); ``public`` and the
API's own ``publisher`` tokens have nothing to revoke and are not affected.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from broker.auth import TokenActive
from broker.embedded import EmbeddedBroker
from broker.heap import settle_for_connections
from broker.revocation import close_revoked_every
from config import Settings, get_settings

STANDALONE_WS_PORT = 8083


def standalone_settings(settings: Settings) -> Settings:
    if settings.mqtt_ws_port is None:
        return settings.model_copy(update={"mqtt_ws_port": STANDALONE_WS_PORT})
    return settings


def database_token_check(settings: Settings) -> TokenActive:
    """Whether a token is still honoured, read from the API's database at each call (this
    process hears of no commit, so it remembers nothing)."""
    # The API's store is this process's only link to it: imported here, at the composition root.
    from publisher_api.store.database import Database
    from publisher_api.store.directory import Directory

    return Directory(Database(settings.effective_database_url), remember=False).token_active


async def serve(settings: Settings) -> None:
    token_active = database_token_check(settings)
    broker = EmbeddedBroker(settings, token_active=token_active)
    await broker.start()
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


def main() -> None:
    settings = standalone_settings(get_settings())
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
