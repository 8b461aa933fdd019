"""Prometheus metrics, in a registry per app (tests build many apps in one process).

Queue length is read from the database at scrape time (a collector), so it can never drift from
the truth; counters and histograms are fed by the ticket service after each commit and by a small
ASGI middleware for HTTP latency (:mod:`publisher_api.http_latency`, in the web layer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

WAIT_BUCKETS = (15, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _QueueLengthCollector(Collector):
    def __init__(self, read: Callable[[], Mapping[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "queuecast_queue_length", "Tickets waiting, per tenant", labels=["tenant"]
        )
        for tenant, count in sorted(self._read().items()):
            family.add_metric([tenant], count)
        yield family


class Metrics:
    def __init__(self, queue_lengths: Callable[[], Mapping[str, int]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tickets_issued = Counter(
            "queuecast_tickets_issued", "Tickets issued", ["tenant"], registry=self.registry
        )
        self.tickets_called = Counter(
            "queuecast_tickets_called",
            "Calls made (recalls included)",
            ["tenant"],
            registry=self.registry,
        )
        self.wait_time = Histogram(
            "queuecast_wait_time_seconds",
            "Time from issue to first call",
            ["tenant"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.ticket_lane = Counter(
            "queuecast_ticket_lane_requests",
            "Requests served by the ticket fast lane (not by FastAPI's routing), per route",
            ["route"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "queuecast_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_QueueLengthCollector(queue_lengths))
        # labels() validates and locks on every call; the labelled histograms never change, so
        # each request looks its own up here instead (the same label set prometheus keeps).
        self._http_children: dict[tuple[str, str, int], Histogram] = {}

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._http_children.get(key)
        if child is None:
            child = self._http_children[key] = self.http_latency.labels(method, route, str(status))
        child.observe(seconds)


@dataclass(frozen=True)
class MqttReading:
    """The MQTT side at one moment, as ``/metrics`` and ``/readyz`` report it. Plain values, so
    this module never imports the broker (deployments on an external broker never load amqtt);
    the embedded broker's figures come from ``broker.stats``."""

    mode: str
    """``embedded`` or ``external``."""
    up: bool
    """Embedded: the broker is serving. External: the publisher's connection is up."""
    connections: Mapping[tuple[str, str], int] = field(default_factory=dict)
    received: Mapping[int, int] = field(default_factory=dict)
    sent: int = 0
    dropped: Mapping[str, int] = field(default_factory=dict)
    disconnects: Mapping[str, int] = field(default_factory=dict)
    inbound_backlog_bytes: int = 0
    paused_readers: int = 0
    reader_pauses: int = 0
    sessions: int = 0
    retained: int = 0


class _MqttCollector(Collector):
    def __init__(self, reading: MqttReading) -> None:
        self._reading = reading

    def collect(self) -> Iterable[Metric]:
        r = self._reading
        up = GaugeMetricFamily(
            "queuecast_mqtt_up",
            "1 when the embedded broker serves, or the external broker is connected",
            labels=["mode"],
        )
        up.add_metric([r.mode], 1 if r.up else 0)
        yield up
        if r.mode != "embedded":
            return
        connections = GaugeMetricFamily(
            "queuecast_mqtt_connections",
            "Connected MQTT clients, per listener and role",
            labels=["listener", "role"],
        )
        for (listener, role), count in sorted(r.connections.items()):
            connections.add_metric([listener, role], count)
        yield connections
        received = CounterMetricFamily(
            "queuecast_mqtt_messages_received",
            "PUBLISH packets received (clients and the API), per QoS",
            labels=["qos"],
        )
        for qos in (0, 1, 2):
            received.add_metric([str(qos)], r.received.get(qos, 0))
        yield received
        yield CounterMetricFamily(
            "queuecast_mqtt_messages_sent", "PUBLISH packets written to subscribers", r.sent
        )
        dropped = CounterMetricFamily(
            "queuecast_mqtt_messages_dropped",
            "Messages not delivered, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(r.dropped.items()):
            dropped.add_metric([reason], count)
        yield dropped
        disconnects = CounterMetricFamily(
            "queuecast_mqtt_disconnects",
            "Connections the broker closed, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(r.disconnects.items()):
            disconnects.add_metric([reason], count)
        yield disconnects
        yield GaugeMetricFamily(
            "queuecast_mqtt_inbound_backlog_bytes",
            "Bytes received from clients and not yet handled",
            r.inbound_backlog_bytes,
        )
        yield GaugeMetricFamily(
            "queuecast_mqtt_paused_readers",
            "Connections not being read now (their inbound buffer is full)",
            r.paused_readers,
        )
        yield CounterMetricFamily(
            "queuecast_mqtt_reader_pauses",
            "Times a connection stopped being read because its inbound buffer was full",
            r.reader_pauses,
        )
        yield GaugeMetricFamily("queuecast_mqtt_sessions", "MQTT sessions held", r.sessions)
        yield GaugeMetricFamily(
            "queuecast_mqtt_retained_messages", "Retained messages held", r.retained
        )


def mqtt_exposition(reading: MqttReading) -> bytes:
    """The MQTT families in Prometheus text format (read fresh at every scrape)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_MqttCollector(reading))
    return bytes(generate_latest(registry))
