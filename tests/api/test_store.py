"""Migrations and the dev seed on real SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from config import Settings
from publisher_api.changes import NullSink
from publisher_api.services.changes import Writer
from publisher_api.store.database import Database
from publisher_api.store.migrate import upgrade_to_head
from publisher_api.store.models import Base
from publisher_api.store.seed import UnsafeDefaults, refuse_dev_logins, seed_dev
from tests.api.conftest import api_settings


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'var' / 'q.db'}")
    yield db
    db.dispose()


def test_migrations_build_exactly_the_models(database: Database) -> None:
    upgrade_to_head(database)
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert "alembic_version" in inspect(database.engine).get_table_names()


def test_upgrading_again_keeps_data(database: Database, tmp_path: Path) -> None:
    upgrade_to_head(database)
    seed_dev(Writer(database, NullSink()), api_settings(tmp_path))
    upgrade_to_head(database)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 3


def test_sqlite_runs_in_wal_mode(database: Database) -> None:
    upgrade_to_head(database)
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_dev_seed_is_idempotent_and_tokens_are_stable(database: Database, tmp_path: Path) -> None:
    upgrade_to_head(database)
    settings = api_settings(tmp_path)
    first = seed_dev(Writer(database, NullSink()), settings)
    second = seed_dev(Writer(database, NullSink()), settings)
    assert [d.id for d in first] == ["totem-1", "display-1"]
    assert first == second  # the very same token strings after a restart


def test_outside_dev_the_dev_logins_are_refused(database: Database, tmp_path: Path) -> None:
    upgrade_to_head(database)
    seed_dev(Writer(database, NullSink()), api_settings(tmp_path))
    with pytest.raises(UnsafeDefaults, match="root"):
        refuse_dev_logins(database)


def test_outside_dev_the_dev_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="QUEUECAST_SECRET_KEY"):
        Settings(env="production")
