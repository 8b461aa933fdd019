"""Migrations and the dev seed on real SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from config import Settings
from publisher_api.bootstrap.seed import UnsafeDefaults, refuse_dev_logins, seed_dev
from publisher_api.changes import NullSink
from publisher_api.domain import counters as cn
from publisher_api.domain.counters import CloseOutcome
from publisher_api.errors import CounterRefused
from publisher_api.services.changes import Writer
from publisher_api.services.counters import command_op
from publisher_api.services.tickets import TicketService
from publisher_api.store.database import Database
from publisher_api.store.migrate import alembic_config, upgrade_to_head
from publisher_api.store.models import Base
from tests.api.conftest import api_settings


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


sqlite_only = pytest.mark.skipif(
    "config.getoption('--database') != 'sqlite'", reason="about SQLite itself"
)


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


@sqlite_only
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


@sqlite_only  # the old rows are written as SQLite takes them (0 for false)
def test_counter_workflow_migration_upgrades_a_0001_database_with_data(
    database: Database, tmp_path: Path
) -> None:
    """A database made by the first release, with a tenant, a counter and tickets in it, gains
    the counter workflow: counters closed with no services, the default call timeout, tickets
    without a server or an end reason; and the workflow then runs on it."""
    command.upgrade(alembic_config(database), "0001")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tenants (id, name, timezone, locale, priority_mode, "
                "normal_per_priority, seq, order_counter, normal_streak, created_at) VALUES "
                "('old', 'Old', 'Asia/Tokyo', 'en', 'ratio', 2, 5, 2, 0, '2026-11-01 10:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO services (tenant_id, prefix, name, priority_allowed, last_number) "
                "VALUES ('old', 'A', 'General', 0, 2)"
            )
        )
        connection.execute(
            text("INSERT INTO counters (tenant_id, number, name) VALUES ('old', 4, 'Sala 4')")
        )
        for n, status, counter in ((1, "called", 4), (2, "waiting", None)):
            connection.execute(
                text(
                    "INSERT INTO tickets (id, tenant_id, service, number, label, priority, status,"
                    " counter, order_key, enqueued_at, created_at) VALUES (:id, 'old', 'A', :n, "
                    ":label, 0, :status, :counter, :n, '2026-11-01 10:00:00', "
                    "'2026-11-01 10:00:00')"
                ),
                {"id": f"t{n}", "n": n, "label": f"A00{n}", "status": status, "counter": counter},
            )
    upgrade_to_head(database)
    with database.engine.connect() as connection:
        migrated = connection.execute(
            text("SELECT status, holder, services FROM counters WHERE number = 4")
        ).one()
        assert tuple(migrated) == ("closed", None, "")
        timeout = connection.execute(text("SELECT call_timeout_s FROM tenants")).scalar()
        assert timeout == 900
        rows = connection.execute(
            text("SELECT id, status, served_by, end_reason FROM tickets ORDER BY id")
        ).all()
        assert [tuple(t) for t in rows] == [
            ("t1", "called", None, None),
            ("t2", "waiting", None, None),
        ]
    # The workflow on the migrated data: open, then calling needs an outcome for the old call.
    writer = Writer(database, NullSink())
    at = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    opened = writer.run("old", command_op(4, cn.Open(by="ana", at=at)), now=at)
    assert (opened.status, opened.open_ticket and opened.open_ticket.id) == ("open", "t1")
    tickets_service = TicketService(writer)
    with pytest.raises(CounterRefused) as busy:
        tickets_service.call_next("old", 4, by="ana", now=at)
    assert busy.value.code == "counter_busy"
    called = tickets_service.call_next("old", 4, by="ana", close=CloseOutcome.COMPLETED, now=at)
    assert called is not None
    assert (called.id, called.counter_name) == ("t2", "Sala 4")
