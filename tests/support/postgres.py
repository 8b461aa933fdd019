"""A throwaway PostgreSQL server (Debian's binaries) for tests, on a free loopback port.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` system
user; as anyone else it belongs to them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


BIN = _bin_dir()
requires_postgres = pytest.mark.skipif(
    BIN is None, reason="Debian package postgresql is not installed (make system-deps)"
)


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def run_postgres() -> Iterator[str]:
    """Start a cluster with trust authentication; yields its SQLAlchemy URL (database
    ``queuecast``, user ``queuecast``). The cluster lives in a temporary directory of its own,
    not under pytest's: that tree is private to root, and the ``postgres`` user must reach it."""
    assert BIN is not None
    with tempfile.TemporaryDirectory(prefix="queuecast-pg-") as workdir:
        data = Path(workdir) / "pgdata"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres")
            shutil.chown(data, "postgres")
        yield from _cluster(BIN, data)


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_owner(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")


def _cluster(bin_dir: Path, data: Path) -> Iterator[str]:
    port = free_port()
    _run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "queuecast"])
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = data / "server.log"  # pg_ctl's own output goes here: a captured pipe would stay open
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    _run([*pg_ctl, "-l", str(log), "-o", options, "-w", "start"])
    try:
        host = ["-h", "127.0.0.1", "-p", str(port), "-U", "queuecast"]
        _run([str(bin_dir / "createdb"), *host, "queuecast"])
        yield f"postgresql+psycopg://queuecast@127.0.0.1:{port}/queuecast"
    finally:
        subprocess.run(
            _as_owner([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True, check=False
        )


_created = 0


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server of ``server_url`` (one per test: quicker than a
    server per test, and no test sees another's rows)."""
    import psycopg
    from sqlalchemy.engine import make_url

    global _created
    _created += 1
    name = f"t{os.getpid()}_{_created}"
    url = make_url(server_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)
