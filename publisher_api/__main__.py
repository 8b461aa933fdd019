"""``python -m publisher_api``: serve the API (and, by default, the embedded MQTT broker) with
uvicorn on QUEUECAST_HTTP_HOST:QUEUECAST_HTTP_PORT."""

from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from config import get_settings


def main() -> int:
    try:
        settings = get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"queuecast: refusing to start: {error['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic announces each of its plugins at INFO when it is imported, on every start: noise
    # next to the lines that say which migrations ran.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from publisher_api.app import create_app, prepare_database
    from publisher_api.store.database import Database
    from publisher_api.store.seed import UnsafeDefaults

    if not settings.is_dev:
        # The lifespan checks this too; checking first gives a one-line message, not a traceback.
        database = Database(settings.effective_database_url)
        try:
            prepare_database(database, settings)
        except UnsafeDefaults as exc:
            print(f"queuecast: refusing to start: {exc}", file=sys.stderr)
            return 2
        finally:
            database.dispose()
    from broker.embedded import LISTEN_BACKLOG  # screens reconnect at once: see its docstring

    uvicorn.run(
        # The same get_settings() object: no dependency override needed.
        create_app(settle_heap=True),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # per-request lines cost more than the request at high rates
        loop=settings.http_event_loop,
        # MQTT payloads are small JSON; per-connection deflate state (~256 KiB of zlib window)
        # would cost more memory than the 10,000 idle screens we hold are allowed.
        ws_per_message_deflate=False,
        # MQTT's own keepalive (enforced by the broker) already detects dead screens; WebSocket
        # pings on top would wake the process 500 times a second for 10,000 idle ones.
        ws_ping_interval=None,
        # The app owns one process's state (embedded broker, write lock): never several workers.
        workers=1,
        backlog=LISTEN_BACKLOG,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
