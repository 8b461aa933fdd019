"""What the broker counts for its operator: messages in and out, what the limits dropped or
closed, and why connections ended. Plain counters bumped on the hot path (an integer add each),
read by ``publisher_api.metrics`` at scrape time; gauges (connections, inbound backlog) are
computed from the live connections when asked (:meth:`broker.core.TenantBroker.snapshot`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class BrokerStats:
    messages_in: Counter[int] = field(default_factory=Counter)
    """PUBLISH packets read from clients, by QoS (the API's own in-process publishes too)."""
    messages_out: int = 0
    """PUBLISH packets written to subscribers (retained and queued deliveries included)."""
    dropped: Counter[str] = field(default_factory=Counter)
    """Messages not delivered, by reason (``publish_refused``, ``offline_queue_full``, ...)."""
    disconnects: Counter[str] = field(default_factory=Counter)
    """Connections the broker closed, or that ended, by reason."""
    reader_pauses: int = 0
    """Times a connection's socket stopped being read because its inbound buffer was full."""

    def disconnected(self, reason: str) -> None:
        self.disconnects[reason] += 1

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] += count


@dataclass(frozen=True)
class BrokerSnapshot:
    """Gauges at one moment, for ``/metrics`` and ``/readyz``."""

    connections: dict[tuple[str, str], int]
    """Connected clients by (listener, role)."""
    inbound_backlog_bytes: int
    """Bytes read from clients' sockets and not yet handled, summed over connections."""
    paused_readers: int
    """Connections whose socket is not being read right now (inbound buffer full)."""
    sessions: int
    """Sessions known (connected, and disconnected persistent ones)."""
    retained: int
    """Retained messages held."""
