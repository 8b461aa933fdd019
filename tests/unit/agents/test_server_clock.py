"""The agents' "now" is the server's clock, learnt from the Date header of API answers, as the
pages learn it (api.js): calls are stamped by the server, and a kiosk's own clock may be off."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from edge.api import ApiClient
from edge.clock import ServerClock
from edge.credential import DeviceCredential
from tests.unit.agents.test_credential import token

T = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
AHEAD = timedelta(minutes=2)


def test_the_offset_is_learnt_from_the_date_header_at_the_midpoint() -> None:
    device = [T]
    clock = ServerClock(lambda: device[0])
    assert clock.now() == T  # nothing learnt yet: the device's clock
    clock.learn(
        format_datetime(T + AHEAD, usegmt=True), sent=T, received=T + timedelta(seconds=0.2)
    )
    # Server 15:02:00 (+0.5 s for the whole seconds) against the device's midpoint 15:00:00.1.
    assert clock.now() == T + AHEAD + timedelta(seconds=0.4)
    device[0] = T + timedelta(seconds=10)
    assert clock.now() == T + AHEAD + timedelta(seconds=10.4)


@pytest.mark.parametrize("header", [None, "", "yesterday", "Tue, 01 Dec 2026 15:02:00"])
def test_a_missing_or_unreadable_date_changes_nothing(header: str | None) -> None:
    clock = ServerClock(lambda: T)
    clock.learn(header, sent=T, received=T)
    assert clock.now() == T


class _AheadHandler(BaseHTTPRequestHandler):
    """A server whose clock is two minutes ahead of this machine's."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(datetime.now(UTC) + AHEAD, usegmt=True)

    def do_GET(self) -> None:
        body = b'{"mqtt_url": "mqtt://127.0.0.1:1883"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ahead_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AheadHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_every_api_answer_sets_the_agents_clock(ahead_server: str) -> None:
    clock = ServerClock()
    api = ApiClient(
        ahead_server, tenant="default", credential=DeviceCredential(token(days=30)), clock=clock
    )
    try:
        api.mqtt_endpoint()
    finally:
        api.close()
    offset = clock.now() - datetime.now(UTC)
    # Two minutes ahead, within the header's whole second (plus generous scheduling slack).
    assert timedelta(seconds=117) < offset < timedelta(seconds=123)
