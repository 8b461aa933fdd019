"""Blocking work (HTTP requests, printing) off the main loop, results back as inputs.

One worker thread: jobs run in the order they were submitted (a ticket is printed after it was
issued), and the main loop never waits on the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, post: Callable[[object], None]) -> None:
        self._post = post
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-job")

    def submit(self, job: Callable[[], object | None]) -> None:
        """Run ``job`` in the worker; post what it returns (if anything) to the inbox. A job
        that raises is a bug: logged with its traceback, never fatal to the agent."""

        def run() -> None:
            try:
                result = job()
            except Exception:
                log.exception("background job failed")
                return
            if result is not None:
                self._post(result)

        self._executor.submit(run)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
