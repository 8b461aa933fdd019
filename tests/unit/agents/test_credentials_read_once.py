"""A totem reads ``/mqtt-credentials`` once per connection: the broker login and the public URL
for its QR codes come from the same answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from edge.api import ApiClient
from edge.credential import DeviceCredential
from tests.unit.agents.test_credential import token

ANSWER = (
    b'{"mqtt_url": "mqtt://127.0.0.1:1883", "login": "token", '
    b'"public_url": "https://queue.example"}'
)


@pytest.fixture
def api() -> Iterator[tuple[ApiClient, list[str]]]:
    requests: list[str] = []

    class Counting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(ANSWER)))
            self.end_headers()
            self.wfile.write(ANSWER)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = ApiClient(
        f"http://127.0.0.1:{server.server_address[1]}",
        tenant="default",
        credential=DeviceCredential(token(days=30)),
    )
    yield client, requests
    client.close()
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_public_url_comes_from_the_answer_the_endpoint_just_read(
    api: tuple[ApiClient, list[str]],
) -> None:
    client, requests = api
    client.mqtt_endpoint()
    assert client.public_url() == "https://queue.example"
    assert requests == ["/api/v1/tenants/default/mqtt-credentials"]


def test_without_a_fresh_answer_the_public_url_is_asked_for(
    api: tuple[ApiClient, list[str]],
) -> None:
    client, requests = api
    client.mqtt_endpoint()
    client.public_url()
    # Used once: the next connection's public URL is read again (a restart may change it).
    assert client.public_url() == "https://queue.example"
    assert len(requests) == 2
