"""Refusals in a storm are logged once, with a count, not once per connection.

When a listener is full, a reconnect storm can refuse thousands of connections in a second; one
warning each would cost more than the refusal and bury everything else. :class:`RefusalLog`
logs the first refusal of a burst at once (with its details), counts the rest, and logs one
line with the count when the burst's window ends.
"""

from __future__ import annotations

import asyncio
import logging


class RefusalLog:
    def __init__(self, logger: logging.Logger, what: str, window_s: float = 10.0) -> None:
        self._logger = logger
        self._what = what
        self._window_s = window_s
        self._counted = 0
        self._window: asyncio.TimerHandle | None = None

    def refused(self, detail: str) -> None:
        """One refusal; call it on the event loop."""
        if self._window is not None:
            self._counted += 1
            return
        self._logger.warning("%s: %s", self._what, detail)
        self._window = asyncio.get_running_loop().call_later(self._window_s, self._close_window)

    def _close_window(self) -> None:
        self._window = None
        if self._counted:
            self._logger.warning(
                "%s: %d more in the last %.0f s", self._what, self._counted, self._window_s
            )
            self._counted = 0

    def close(self) -> None:
        """Log what is still counted (at broker stop)."""
        if self._window is not None:
            self._window.cancel()
            self._close_window()
