"""Who runs the :class:`~publisher_api.publishing.rules.PublishingRules`, and where.

Both drivers take the API's committed changes (through ``publisher_api.realtime``): ``notify``
only records the change (in the order it is called, which is commit order) and never blocks.

* :class:`LoopPublisher` — the embedded broker: publishing runs on the broker's own event loop
  and hands messages straight to it. No thread, no socket, no packet encoding and parsing.
* :class:`ThreadedPublisher` — an external broker over paho: one worker thread, so the API's
  loop never waits on the network.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading
from dataclasses import dataclass

from publisher_api.changes import TenantChanged
from publisher_api.publishing.rules import Everything, PublishingRules, RepublishAll, Work

log = logging.getLogger(__name__)
_IDLE_WAKE_S = 1.0


class LoopPublisher:
    def __init__(self, rules: PublishingRules, loop: asyncio.AbstractEventLoop) -> None:
        self._rules = rules
        self._loop = loop
        # deque.append is atomic: calls from the loop and from worker threads keep their order.
        self._pending: collections.deque[Work] = collections.deque()
        self._scheduled = False
        self._lock = threading.Lock()
        self._clear_timer: asyncio.TimerHandle | None = None
        self._stopped = False
        self._reading = False  # a RepublishAll's database read is running in a worker thread

    def notify(self, change: TenantChanged) -> None:
        self._submit(change)

    def republish_all(self) -> None:
        self._submit(RepublishAll())

    def start(self) -> None:
        self.republish_all()

    def stop(self) -> None:
        self._stopped = True
        if self._clear_timer is not None:
            self._clear_timer.cancel()

    def _submit(self, work: Work) -> None:
        self._pending.append(work)
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        if _running_loop() is self._loop:
            self._loop.call_soon(self._drain)
        else:
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            self._scheduled = False
        if self._stopped or self._reading:
            return  # the read's completion drains what arrived meanwhile, in order
        batch: list[Work] = []
        while self._pending:
            batch.append(self._pending.popleft())
        if any(isinstance(item, RepublishAll) for item in batch):
            # Re-publishing everything reads the database: never on the event loop.
            self._reading = True
            read = self._loop.run_in_executor(None, self._rules.read_everything)
            read.add_done_callback(lambda done: self._after_read(batch, done))
            return
        self._rules.process(batch)
        self._arm_clear_timer()

    def _after_read(self, batch: list[Work], done: asyncio.Future[Everything]) -> None:
        self._reading = False
        if self._stopped:
            return
        if done.cancelled() or done.exception() is not None:
            log.error("reading the state to re-publish failed", exc_info=done.exception())
            self._rules.process([item for item in batch if not isinstance(item, RepublishAll)])
        else:
            self._rules.process(batch, done.result())
        self._arm_clear_timer()
        if self._pending:
            self._submit_drain()

    def _submit_drain(self) -> None:
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._loop.call_soon(self._drain)

    def _arm_clear_timer(self) -> None:
        if self._clear_timer is not None:
            self._clear_timer.cancel()
            self._clear_timer = None
        wait = self._rules.seconds_until_due()
        if wait is not None and not self._stopped:
            self._clear_timer = self._loop.call_later(wait, self._drain)


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


class ThreadedPublisher:
    def __init__(self, rules: PublishingRules) -> None:
        self._rules = rules
        self._inbox: queue.SimpleQueue[Work | _Stop] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mqtt-state-publisher", daemon=True)

    def notify(self, change: TenantChanged) -> None:
        self._inbox.put(change)

    def republish_all(self) -> None:
        """Called at each connect of the paho connection."""
        self._inbox.put(RepublishAll())

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._inbox.put(_Stop())
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if any(isinstance(item, _Stop) for item in batch):
                return
            self._rules.process([item for item in batch if not isinstance(item, _Stop)])

    def _next_batch(self) -> list[Work | _Stop]:
        wait = self._rules.seconds_until_due()
        timeout = _IDLE_WAKE_S if wait is None else min(wait, _IDLE_WAKE_S)
        try:
            batch = [self._inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                return batch


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
