"""The garbage collector's settings for a process that holds thousands of connections.

Every connection keeps ~100 container objects alive (session, handler, transport, tasks, events).
With CPython's default thresholds (700, 10, 10) a storm of 10,000 connections ran 13 full
collections, each walking every object in the process with the event loop stopped: 3.4 s of the
broker's 7.7 s of CPU, measured with ``gc.callbacks`` (docs/benchmarks.md). Two changes:

- what start-up built (imports, settings, the broker itself) is frozen out of the collector's
  scans, as the API process already does;
- the youngest generation is collected every 20,000 allocations instead of 700, so a storm runs
  a handful of collections instead of hundreds, and full collections (still bounded by CPython's
  own rule: not before the long-lived objects grew by a quarter) a handful too.

Cyclic garbage lives a little longer (at most ~2 million allocations before a full collection);
memory stays bounded by that.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000


def settle_for_connections() -> None:
    """Call once, after start-up, in the process that serves MQTT (never in tests: they build
    many brokers in one process and must collect them)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
