"""The database handle: engine set-up (SQLite in WAL mode, or PostgreSQL by URL), sessions, and
the write discipline that makes every change of a tenant happen one at a time.

Why a process lock *and* a database lock: the lock keeps our own threads from queueing inside
SQLite's busy handler (cheap, fair, and it orders ``notify`` calls in commit order); ``BEGIN
IMMEDIATE`` (SQLite) or ``SELECT ... FOR UPDATE`` on the tenant row (PostgreSQL) keeps a second
process or a tool from interleaving with us.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = _sqlite_engine(url, echo) if self.is_sqlite else _server_engine(url, echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._global_lock = threading.Lock()
        self._tenant_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def session(self) -> Session:
        """A session for reading (and for writes that hold :meth:`write_lock`)."""
        return self._sessions()

    @contextmanager
    def write_lock(self, tenant: str | None) -> Iterator[None]:
        """Serialise writers: SQLite allows one writer at a time anyway, so one lock for all;
        a server database only needs one per tenant."""
        lock = self._global_lock if self.is_sqlite or tenant is None else self._tenant_lock(tenant)
        with lock:
            yield

    @contextmanager
    def writing(self, tenant: str | None) -> Iterator[Session]:
        """A write transaction under the write lock; commits on success, rolls back on error.
        The caller may run code after the commit while still holding the lock (see
        ``services.changes``), so the lock is taken outside the session's lifetime."""
        with self.write_lock(tenant), self.session() as session:
            session.connection(execution_options={"queuecast_write": True})
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write_transaction(self, tenant: str | None) -> Iterator[Connection]:
        """Like :meth:`writing`, as a bare Core connection (no ORM session: the writer's hot
        path does not pay for one). The caller commits, still under the lock; anything else
        rolls back."""
        with (
            self.write_lock(tenant),
            self.engine.connect().execution_options(queuecast_write=True) as connection,
        ):
            connection.begin()
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

    def _tenant_lock(self, tenant: str) -> threading.Lock:
        with self._locks_guard:
            return self._tenant_locks.setdefault(tenant, threading.Lock())


def _sqlite_engine(url: str, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so we can say BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer. synchronous=NORMAL in WAL survives a process
        # crash (kill -9) with every committed transaction; only power loss can cost the last few.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the database write lock up front; a deferred transaction that reads and
        # then writes could otherwise fail with SQLITE_BUSY half-way.
        write = connection.get_execution_options().get("queuecast_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _server_engine(url: str, echo: bool) -> Engine:
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
