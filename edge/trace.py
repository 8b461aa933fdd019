"""Timing events for bench/: JSON lines with ``time.monotonic()`` (comparable across processes
on one machine). Disabled (a no-op) unless the agent is given ``--trace-file``."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO


class Trace:
    def __init__(self, path: Path | None) -> None:
        self._file: IO[str] | None = path.open("a", buffering=1) if path is not None else None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._file is not None

    def __call__(self, event: str, **fields: object) -> None:
        if self._file is None:
            return
        line = json.dumps({"event": event, "t": time.monotonic(), **fields})
        with self._lock:
            self._file.write(line + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
