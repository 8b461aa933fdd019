"""``python -m broker``: the broker alone (TCP on QUEUECAST_MQTT_TCP_PORT, default 1883;
MQTT over WebSocket at /mqtt on QUEUECAST_MQTT_WS_PORT, default 8083).

Without the API in the same process there is no ``token_active`` check: a token is valid until
it expires (revoking a device takes effect at its token's expiry or when the API's own broker
is used).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from broker.embedded import EmbeddedBroker
from config import Settings, get_settings

STANDALONE_WS_PORT = 8083


def standalone_settings(settings: Settings) -> Settings:
    if settings.mqtt_ws_port is None:
        return settings.model_copy(update={"mqtt_ws_port": STANDALONE_WS_PORT})
    return settings


async def serve(settings: Settings) -> None:
    broker = EmbeddedBroker(settings)
    await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await broker.stop()


def main() -> None:
    settings = standalone_settings(get_settings())
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
