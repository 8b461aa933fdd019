"""Alembic environment: migrate the app's Database (from code) or the settings' URL (CLI)."""

from __future__ import annotations

from alembic import context

from publisher_api.store.database import Database
from publisher_api.store.models import Base

config = context.config


def _database() -> Database:
    given = config.attributes.get("database")
    if isinstance(given, Database):
        return given
    from config import get_settings  # the CLI path: same settings as the app

    return Database(get_settings().effective_database_url)


def run_migrations_online() -> None:
    database = _database()
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run_migrations_online()
