"""Alembic, driven from code: the app upgrades its database to head at start-up.

The migration scripts live next to this file (``migrations/``); ``alembic.ini`` in this folder
lets a person run the CLI too: ``alembic -c publisher_api/store/alembic.ini upgrade head``
(it reads the URL from ``QUEUECAST_*`` settings).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from publisher_api.store.database import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.render_as_string(hide_password=False))
    config.attributes["database"] = database
    return config


def upgrade_to_head(database: Database) -> None:
    """Apply every migration not yet applied; a no-op on an up-to-date database."""
    command.upgrade(alembic_config(database), "head")
