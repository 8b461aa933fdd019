"""What the running app holds: settings, database, writer and services, metrics, the realtime
side (broker or external connection). The one lifespan state object: built by the lifespan
(never at import time), gone when it ends, and reached through
:mod:`publisher_api.lifespan_state` only (``deps.RuntimeDep`` for routes,
:func:`~publisher_api.lifespan_state.running` for the rest)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TypeVar

from config import Settings
from publisher_api.auth import TokenVerifier
from publisher_api.login_guard import LoginGuard
from publisher_api.metrics import Metrics
from publisher_api.realtime import Realtime
from publisher_api.services.batching import BatchingWriter
from publisher_api.services.changes import Operation, Writer
from publisher_api.services.tickets import TicketService
from publisher_api.store.database import Database
from publisher_api.store.directory import Directory
from publisher_api.store.snapshot import SnapshotCache

T = TypeVar("T")


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    writer: Writer
    tickets: TicketService
    directory: Directory
    snapshots: SnapshotCache
    metrics: Metrics
    batching: BatchingWriter
    tokens: TokenVerifier
    logins: LoginGuard
    realtime: Realtime

    async def write(self, tenant: str, operation: Operation[T]) -> T:
        """Run a ticket operation on the writer thread (group commit) and await its result."""
        return await asyncio.wrap_future(self.batching.submit(tenant, operation))
