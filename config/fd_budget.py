"""How many connections a process may hold: below its open-files limit, never above it.

Past ``RLIMIT_NOFILE`` every ``accept()`` fails: HTTP (``/healthz`` included) stops answering
and new MQTT connections are reset, with nothing logged. So the connection caps are derived
from the real limit, keeping a reserve for the database, log files, the event loop and
outgoing sockets, and each listener refuses (with a log line) before the process runs out.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

RESERVE = 128  # descriptors kept for everything that is not a client connection


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard one (allowed without privileges) and return
    the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 1_048_576 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def open_files_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1_048_576 if soft == resource.RLIM_INFINITY else soft


@dataclass(frozen=True, slots=True)
class ConnectionBudget:
    http: int
    """HTTP connections, WebSocket screens on the HTTP port included."""
    mqtt: int
    """Per MQTT listener (``mqtt_listeners`` > 1), or for all of them together (callers that
    pass ``mqtt_listeners=1`` with the sum of their listeners' asks)."""


def connection_budget(
    *,
    http_wanted: int,
    mqtt_wanted: int,
    mqtt_listeners: int = 1,
    limit: int | None = None,
) -> ConnectionBudget:
    """Split what the open-files limit allows between HTTP and the MQTT listeners, giving each
    what it asks for when everything fits, and otherwise shares in proportion to the asks."""
    usable = max(2 * (1 + mqtt_listeners), (limit or open_files_limit()) - RESERVE)
    wanted = http_wanted + mqtt_wanted * mqtt_listeners
    if wanted <= usable:
        return ConnectionBudget(http=http_wanted, mqtt=mqtt_wanted)
    http = max(1, usable * http_wanted // wanted)
    mqtt = max(1, (usable - http) // mqtt_listeners)
    return ConnectionBudget(http=http, mqtt=mqtt)
