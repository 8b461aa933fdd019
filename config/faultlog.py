"""Log repeated client faults once per interval, with a count.

A client that keeps doing something wrong (publishing where it may not, guessing passwords,
sending oversized requests) must not turn each attempt into a log line: 100,000 refused
publishes were 17 MB of log. The first fault of a kind is logged at once; the rest of the
interval's faults of that kind are counted and summed up in one line when the next one comes
after the interval (or by :meth:`FaultLog.flush`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

_MAX_KINDS = 10_000  # kinds are keyed by client details: bounded, oldest forgotten first


def printable(value: object, limit: int = 200) -> str:
    """``value`` safe for one log line: control characters escaped (raw bytes from a URL or a
    topic never reach the log as themselves), and cut to ``limit`` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


@dataclass
class _Kind:
    first: float
    suppressed: int = 0


class FaultLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval_s
        self._clock = clock
        self._kinds: dict[str, _Kind] = {}

    def warning(self, kind: str, message: str, *args: object) -> bool:
        """Log ``message % args`` unless a fault of ``kind`` was logged less than an interval
        ago (then count it). Returns whether a line was written."""
        now = self._clock()
        seen = self._kinds.get(kind)
        if seen is not None and now - seen.first < self._interval:
            seen.suppressed += 1
            return False
        suffix = ""
        if seen is not None and seen.suppressed:
            suffix = f" (and {seen.suppressed} more like it in the last {now - seen.first:.0f} s)"
            del self._kinds[kind]
        if len(self._kinds) >= _MAX_KINDS:
            del self._kinds[next(iter(self._kinds))]
        self._kinds[kind] = _Kind(first=now)
        safe = tuple(a if isinstance(a, int | float) else printable(a) for a in args)
        self._logger.warning(message + "%s", *safe, suffix)
        return True

    def suppressed(self, kind: str) -> int:
        seen = self._kinds.get(kind)
        return 0 if seen is None else seen.suppressed
