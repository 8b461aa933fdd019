"""Report arithmetic on controlled clocks, and how the process refuses unsafe start-ups."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from publisher_api.auth import verify_password
from publisher_api.bootstrap.seed import ensure_bootstrap_superadmin, seed_dev
from publisher_api.changes import NullSink
from publisher_api.domain import counters as cn
from publisher_api.domain.lifecycle import CommandKind
from publisher_api.services import stats
from publisher_api.services.changes import Writer
from publisher_api.services.counters import command_op
from publisher_api.services.tickets import Action, TicketService
from publisher_api.store.database import Database
from publisher_api.store.migrate import upgrade_to_head
from publisher_api.store.models import UserRow
from tests.api.conftest import api_settings, open_counter

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade_to_head(db)
    yield db
    db.dispose()


def test_wait_is_to_the_first_call_and_service_from_start_to_end(
    database: Database, tmp_path: Path
) -> None:
    writer = Writer(database, NullSink())
    seed_dev(writer, api_settings(tmp_path))
    service = TicketService(writer)
    ticket = service.issue("default", service="A", priority=False, now=T0).ticket
    open_counter(writer, 2, "ana", now=T0)
    open_counter(writer, 1, "bia", now=T0)
    service.act(
        "default",
        ticket.id,
        Action(CommandKind.CALL, counter=2, by="ana"),
        now=T0 + timedelta(seconds=60),
    )
    service.act("default", ticket.id, Action(CommandKind.RECALL), now=T0 + timedelta(seconds=300))
    service.act("default", ticket.id, Action(CommandKind.START), now=T0 + timedelta(seconds=310))
    service.act("default", ticket.id, Action(CommandKind.COMPLETE), now=T0 + timedelta(seconds=400))
    missed = service.issue("default", service="P", priority=True, now=T0).ticket
    service.act(
        "default",
        missed.id,
        Action(CommandKind.CALL, counter=1, by="bia"),
        now=T0 + timedelta(seconds=120),
    )
    service.act("default", missed.id, Action(CommandKind.NO_SHOW), now=T0 + timedelta(seconds=180))
    for seconds, command in (
        (200, cn.Pause(by="bia", reason="café", at=T0 + timedelta(seconds=200))),
        (500, cn.Resume(by="bia", at=T0 + timedelta(seconds=500))),
        (3500, cn.Pause(by="bia", reason="fim", at=T0 + timedelta(seconds=3500))),
    ):
        writer.run("default", command_op(1, command), now=T0 + timedelta(seconds=seconds))

    with database.session() as session:
        report = stats.compute(session, "default", "America/Sao_Paulo", T0, T0 + timedelta(hours=1))
    assert (report.total.issued, report.total.called, report.total.completed) == (2, 2, 1)
    assert report.total.no_show == 1
    by_service = {f.key: f for f in report.by_service}
    assert (by_service["A"].mean_wait_s, by_service["A"].mean_service_s) == (60.0, 90.0)
    assert by_service["P"].p90_wait_s == 120.0
    assert [f.key for f in report.by_counter] == ["1", "2"]
    assert [f.key for f in report.by_day] == ["2026-11-29"]  # 10:00 in São Paulo
    assert stats.p90([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == 9
    # Per attendant: who called what, and pause time clipped to the range (300 s + the last
    # 100 s of the hour, still paused at its end).
    ana, bia = report.attendants
    assert (ana.username, ana.called, ana.completed, ana.no_show) == ("ana", 1, 1, 0)
    assert (ana.service_time_avg_s, ana.pause_s) == (90.0, 0.0)
    assert (bia.username, bia.called, bia.completed, bia.no_show) == ("bia", 1, 0, 1)
    assert (bia.service_time_avg_s, bia.pause_s) == (None, 400.0)
    rows = stats.to_csv(report).splitlines()
    assert rows[0].endswith(",pause_s")
    assert "attendant,bia,,1,0,1,,,,,,400.0" in rows  # p50_wait_s empty too


def test_service_time_counts_from_the_call_when_never_started(
    database: Database, tmp_path: Path
) -> None:
    writer = Writer(database, NullSink())
    seed_dev(writer, api_settings(tmp_path))
    service = TicketService(writer)
    ticket = service.issue("default", service="A", priority=False, now=T0).ticket
    open_counter(writer, 1, "ana", now=T0)
    call = Action(CommandKind.CALL, counter=1, by="ana")
    service.act("default", ticket.id, call, now=T0 + timedelta(seconds=30))
    service.act("default", ticket.id, Action(CommandKind.COMPLETE), now=T0 + timedelta(seconds=95))
    with database.session() as session:
        report = stats.compute(session, "default", "UTC", T0, T0 + timedelta(hours=1))
    assert report.total.mean_service_s == 65.0
    assert report.attendants[0].service_time_avg_s == 65.0


def test_bootstrap_superadmin_is_created_once(database: Database, tmp_path: Path) -> None:
    settings = api_settings(tmp_path, bootstrap_superadmin=SecretStr("boss:a-long-password"))
    ensure_bootstrap_superadmin(database, settings)
    ensure_bootstrap_superadmin(database, settings)
    with database.session() as session:
        users = session.query(UserRow).filter_by(username="boss").all()
    assert len(users) == 1
    assert (users[0].role, users[0].tenant_id) == ("superadmin", None)
    assert verify_password(users[0].password_hash, "a-long-password")


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QUEUECAST_")}
    return subprocess.run(
        [sys.executable, "-m", "publisher_api"],
        cwd=ROOT,
        env={**clean, "QUEUECAST_VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_the_dev_secret_with_a_clear_message(tmp_path: Path) -> None:
    result = _start({"QUEUECAST_ENV": "production"}, tmp_path)
    assert result.returncode == 2
    assert "QUEUECAST_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_a_database_where_dev_logins_work(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'var' / 'queuecast.db'}")
    upgrade_to_head(database)
    seed_dev(Writer(database, NullSink()), api_settings(tmp_path))
    database.dispose()
    result = _start(
        {
            "QUEUECAST_ENV": "production",
            "QUEUECAST_SECRET_KEY": "production-test-secret-0123456789-abcdefghij",
            "QUEUECAST_HTTP_PORT": "0",
        },
        tmp_path,
    )
    assert result.returncode == 2
    assert "dev password" in result.stderr
    assert "Traceback" not in result.stderr
