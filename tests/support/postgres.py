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
def run_postgres(workdir: Path) -> Iterator[str]:
    """Start a cluster with trust authentication; yields its SQLAlchemy URL (database
    ``queuecast``, user ``queuecast``)."""
    assert BIN is not None
    data = workdir / "pgdata"
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True}
    subprocess.run(
        _as_owner([str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "queuecast"]), **run
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = data / "server.log"  # pg_ctl's own output goes here: a captured pipe would stay open
    subprocess.run(
        _as_owner(
            [str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]
        ),
        **run,
    )
    try:
        subprocess.run(
            _as_owner(
                [
                    str(BIN / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "queuecast",
                    "queuecast",
                ]
            ),
            **run,
        )
        yield f"postgresql+psycopg://queuecast@127.0.0.1:{port}/queuecast"
    finally:
        subprocess.run(
            _as_owner([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
