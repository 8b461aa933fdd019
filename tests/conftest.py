"""Fixtures every suite may use."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.mqtt import Recorder
    from tests.support.system import RunningSystem

DATABASES = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=DATABASES,
        default=os.environ.get("QUEUECAST_TEST_DATABASE", "sqlite"),
        help="the store the store/services tests (fixture database_url) run on; a throwaway "
        "PostgreSQL server is started for the session (also: QUEUECAST_TEST_DATABASE)",
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throwaway PostgreSQL server for the session (Debian's binaries): its URL."""
    from tests.support.postgres import BIN, run_postgres

    if BIN is None:
        pytest.skip("Debian package postgresql is not installed (make system-deps)")
    with run_postgres() as url:
        yield url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for one test: a SQLite file, or with ``--database=postgresql`` a new
    database on the session's PostgreSQL server."""
    if request.config.getoption("--database") == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'q.db'}"
    from tests.support.postgres import fresh_database

    return fresh_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty database on real PostgreSQL, whatever ``--database`` says (outbox, replicas)."""
    from tests.support.postgres import fresh_database

    return fresh_database(postgres_server)


@pytest.fixture(scope="session")
def dynsec_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The API on Mosquitto with dynamic security, as ``make run-cluster`` runs them (the broker
    from ``deploy/cluster/start-mosquitto``, the API configured by the ``mosquitto.env`` it
    wrote). One for the session: the agent, page and API suites on it each use devices and users
    of their own, and starting the pair took seconds per module. Mark the tests that use it
    ``requires_dynsec`` (tests.support.dynsec)."""
    from tests.support.dynsec import run_dynsec_mosquitto
    from tests.support.system import start_system

    folder = tmp_path_factory.mktemp("dynsec-system")
    with (
        run_dynsec_mosquitto(folder / "mosquitto") as mosquitto,
        start_system(folder, env=mosquitto.env) as running,
    ):
        yield running


@pytest.fixture
def clients() -> Iterator[list[Recorder]]:
    """MQTT clients a test made, closed at its end (a test may have closed some already)."""
    made: list[Recorder] = []
    yield made
    for client in made:
        with contextlib.suppress(Exception):
            client.close()


OUTPUT_ROOT = Path(__file__).resolve().parent.parent / "test-output"


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """A folder kept after the run (gitignored) for screenshots, rendered frames, audio files."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    path = OUTPUT_ROOT / name
    path.mkdir(parents=True, exist_ok=True)
    return path
