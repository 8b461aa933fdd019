"""``python -m publisher_api``: serve the API (and, by default, the embedded MQTT broker) with
uvicorn on QUEUECAST_HTTP_HOST:QUEUECAST_HTTP_PORT."""

from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from config import get_settings
from config.fd_budget import raise_open_files_limit


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
    from publisher_api.bootstrap.seed import UnsafeDefaults
    from publisher_api.server import server_config
    from publisher_api.store.database import Database

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
    raise_open_files_limit()
    uvicorn.Server(server_config(create_app(settle_heap=True), settings)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
