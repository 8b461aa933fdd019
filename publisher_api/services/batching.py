"""The writer thread: every ticket write of the process goes through one thread that takes
whatever has queued up and commits it per tenant in one transaction (group commit).

Why: SQLite has one writer at a time anyway, so dozens of request threads only fight over the
write lock and the GIL; and the fixed cost of a write (lock, BEGIN, snapshot, COMMIT, notify)
is paid once per batch instead of once per request. Under light load a batch is one operation
and nothing changes; under heavy load throughput grows with the batch size.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from publisher_api.services.changes import Operation, Writer

log = logging.getLogger(__name__)
R = TypeVar("R")
MAX_BATCH = 64


@dataclass(frozen=True, slots=True)
class _Item:
    tenant: str
    operation: Operation[Any]
    future: Future[Any]


class BatchingWriter:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._inbox: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="queuecast-writer", daemon=True)
        self._thread.start()

    def submit(self, tenant: str, operation: Operation[R]) -> Future[R]:
        future: Future[R] = Future()
        self._inbox.put(_Item(tenant, operation, future))
        return future

    def close(self, timeout: float = 10.0) -> None:
        self._inbox.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = list(self._next_batch())
            if not batch:
                return
            for tenant, items in _by_tenant(batch):
                self._commit(tenant, items)
            if batch[-1] is None:
                return

    def _next_batch(self) -> Iterator[_Item | None]:
        item = self._inbox.get()
        yield item
        if item is None:
            return
        for _ in range(MAX_BATCH - 1):
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            yield item
            if item is None:
                return

    def _commit(self, tenant: str, items: list[_Item]) -> None:
        try:
            outcomes = self.writer.run_batch(tenant, [i.operation for i in items])
        except Exception as exc:  # nothing may kill the writer thread
            log.exception("write batch for tenant %s failed", tenant)
            outcomes = [exc] * len(items)
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)


def _by_tenant(batch: list[_Item | None]) -> list[tuple[str, list[_Item]]]:
    """Group by tenant, keeping each tenant's arrival order (tenants are independent)."""
    groups: dict[str, list[_Item]] = {}
    for item in batch:
        if item is not None:
            groups.setdefault(item.tenant, []).append(item)
    return list(groups.items())
