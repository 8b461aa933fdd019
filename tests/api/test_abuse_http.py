"""One careless or hostile HTTP client cannot take the site down (issue 12): login floods,
guessing, oversized bodies and headers, connections that never finish, too many connections,
paths that used to crash a handler. Each test runs a real server with short limits."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

import config.fd_budget
from config.fd_budget import connection_budget
from publisher_api.app import create_app
from publisher_api.routers.mqtt_lane import MqttFrontDoor
from publisher_api.server import GuardedHttpProtocol, server_config
from tests.api.conftest import TENANT, Api, ServerThread, StartApi, api_settings, serve
from tests.support.raw_socket import recv_or_reset


def _login(api: Api, username: str, password: str) -> httpx.Response:
    return api.http.post("/api/v1/auth/token", data={"username": username, "password": password})


# --- login flood and guessing -------------------------------------------------------------------


def test_a_login_flood_is_bounded_and_operators_keep_working(
    start_api: StartApi, caplog: pytest.LogCaptureFixture
) -> None:
    api = start_api(login_concurrency=1, login_queue=2, login_per_ip=1000)
    operator = api.auth("operator")
    api.issue("A")
    api.open_counter(1)
    caplog.set_level(logging.WARNING)

    def wrong(_: int) -> int:
        return _login(api, "operator", "wrong-password").status_code

    with ThreadPoolExecutor(24) as pool:
        flood = [pool.submit(wrong, i) for i in range(24)]
        call = api.http.post(f"/api/v1/tenants/{TENANT}/counters/1/call-next", headers=operator)
        health = api.http.get("/healthz")
        statuses = [f.result() for f in flood]
    assert call.status_code == 200, call.text
    assert health.status_code == 200
    assert set(statuses) <= {401, 429}
    assert 429 in statuses  # the waiting line is bounded: no pile of 64 MiB argon2 checks
    refused = _first_429(api, "operator", "wrong-password", attempts=40)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "too_many_requests"
    assert any("failed sign-in" in r.getMessage() for r in caplog.records)


def _first_429(api: Api, username: str, password: str, attempts: int) -> httpx.Response:
    for _ in range(attempts):
        r = _login(api, username, password)
        if r.status_code == 429:
            return r
    raise AssertionError(f"no 429 in {attempts} attempts")


def test_failed_logins_lock_the_username_for_a_while_with_retry_after(
    start_api: StartApi,
) -> None:
    api = start_api(login_per_user=3, login_per_ip=100, login_window_s=600)
    for _ in range(3):
        assert _login(api, "operator", "guess").status_code == 401
    locked = _login(api, "operator", "operator")  # even the right password waits now
    assert locked.status_code == 429
    assert locked.json()["error"] == "too_many_requests"
    assert int(locked.headers["Retry-After"]) > 0
    assert _login(api, "admin", "admin").status_code == 200  # other users are not affected


def test_one_address_cannot_guess_across_many_usernames(start_api: StartApi) -> None:
    api = start_api(login_per_ip=4, login_per_user=100, login_window_s=600)
    assert _login(api, "operator", "operator").status_code == 200  # successes are given back
    statuses = [_login(api, f"user{i}", "guess").status_code for i in range(6)]
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429, 429]


# --- bodies, headers and connections ------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_it_is_read(start_api: StartApi) -> None:
    api = start_api(http_max_body_bytes=1024)
    declared = api.http.post(
        "/api/v1/auth/token", content=b"x" * 2048, headers={"Content-Type": "text/plain"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, judged as it streams
        for _ in range(8):
            yield b'{"service": "A", "pad": "' + b"y" * 512 + b'"}'

    streamed = api.http.post(
        f"/api/v1/tenants/{TENANT}/tickets",
        content=chunks(),
        headers={**api.auth("operator"), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"] == "payload_too_large"
    # A 100 MB promise with a few bytes sent: answered at once, nothing waited for.
    with _raw(api) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
            b"Content-Type: application/json\r\n\r\n{"
        )
        assert _read_status(sock) == 413
    assert api.http.get("/healthz").status_code == 200


def test_headers_over_the_limit_get_431(start_api: StartApi) -> None:
    api = start_api(http_max_header_bytes=4096)
    r = api.http.get("/healthz", headers={"X-Padding": "p" * 8000})
    assert r.status_code == 431
    with _raw(api) as sock:  # a body arriving with the headers is not counted as headers
        body = b"username=x&password=" + b"p" * 8000
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        assert _read_status(sock) == 401
    assert api.http.get("/healthz").status_code == 200


def test_connections_that_never_finish_a_request_are_closed(
    start_api: StartApi, caplog: pytest.LogCaptureFixture
) -> None:
    api = start_api(http_request_timeout_s=0.5)
    caplog.set_level(logging.WARNING)
    with _raw(api) as silent, _raw(api) as slow, _raw(api) as trickle:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # ...and never the blank line
        trickle.sendall(  # a body promised and never sent whole
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nusername="
        )
        for sock in (silent, slow, trickle):
            sock.settimeout(10)
            assert recv_or_reset(sock) == b""  # closed by the server, not by our timeout
    time.sleep(0.3)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("no whole request" in r.getMessage() for r in caplog.records)


def test_connections_beyond_the_cap_are_closed_and_logged(
    start_api: StartApi, caplog: pytest.LogCaptureFixture
) -> None:
    api = start_api(http_max_connections=4, http_request_timeout_s=30)
    caplog.set_level(logging.WARNING)
    idle = [_raw(api) for _ in range(4)]
    try:
        time.sleep(0.3)
        with _raw(api) as extra:
            extra.settimeout(10)
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert recv_or_reset(extra) == b""
        assert any("connection cap reached" in r.getMessage() for r in caplog.records)
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.3)
    assert api.http.get("/healthz").status_code == 200


def test_a_nul_in_an_asset_path_is_a_404_not_a_500(
    start_api: StartApi, caplog: pytest.LogCaptureFixture
) -> None:
    api = start_api()
    caplog.set_level(logging.WARNING)
    for path in ("/web/a%00.js", "/web/%01%1b[31m.css"):
        r = api.http.get(path)
        assert r.status_code == 404
        assert r.json()["error"] == "not_found"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_stats_with_a_date_out_of_range_is_a_422(start_api: StartApi) -> None:
    api = start_api()
    for query in ("to=0001-01-01T00:00:00", "from=0001-01-01T00:00:00", "to=9999-12-31T23:59:59"):
        r = api.http.get(f"/api/v1/tenants/{TENANT}/stats?{query}", headers=api.auth("admin"))
        assert r.status_code == 422, (query, r.text)
        assert r.json()["error"] == "invalid"


def _raw(api: Api) -> socket.socket:
    return socket.create_connection(("127.0.0.1", api.settings.http_port), timeout=10)


def _read_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_a_websocket_frame_over_the_mqtt_limit_is_refused_before_buffering(
    start_api: StartApi,
) -> None:
    api = start_api(mqtt_max_payload_bytes=1024)
    url = f"ws://127.0.0.1:{api.settings.http_port}/mqtt"
    with ws_connect(url, subprotocols=[Subprotocol("mqtt")]) as ws:
        ws.send(b"\x10" + b"\xff" * 300_000)  # far above payload + topic + headers
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # "message too big", from the HTTP server itself


def test_the_http_cap_is_derived_from_the_open_files_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(config.fd_budget, "open_files_limit", lambda: 1024)
    settings = api_settings(tmp_path)
    with caplog.at_level(logging.WARNING):
        server = server_config(create_app(settings), settings)
    door = server.http
    assert isinstance(door, type)
    assert issubclass(door, MqttFrontDoor)
    protocol = door.http
    assert isinstance(protocol, type)
    assert issubclass(protocol, GuardedHttpProtocol)
    assert door.max_connections == protocol.max_connections
    mqtt_cap = connection_budget(
        http_wanted=settings.http_max_connections, mqtt_wanted=settings.mqtt_max_connections
    ).mqtt
    assert protocol.max_connections + mqtt_cap <= 1024 - config.fd_budget.RESERVE
    assert any("HTTP connections capped" in r.getMessage() for r in caplog.records)


# --- refusals answered by the HTTP protocol, never by the app ------------------------------------


class _Seen:
    """ASGI middleware (outermost in the app) recording each HTTP request the app was given."""

    def __init__(self, app: ASGIApp, *, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Callable[..., tuple[Api, list[str]]]]:
    """A server (as ``start_api``) whose app records every HTTP request that reaches it."""
    running: list[tuple[ServerThread, httpx.Client]] = []

    def start(**overrides: Any) -> tuple[Api, list[str]]:
        settings = api_settings(tmp_path / f"api{len(running)}", **overrides)
        seen: list[str] = []
        app = create_app(settings)
        app.add_middleware(_Seen, seen=seen)
        server = serve(settings, app)
        http = httpx.Client(base_url=server.base_url, timeout=20)
        running.append((server, http))
        return Api(settings, http), seen

    yield start
    for server, http in running:
        http.close()
        server.stop()


def test_a_declared_oversized_body_never_reaches_the_app_and_is_not_read(
    watched: Callable[..., tuple[Api, list[str]]], caplog: pytest.LogCaptureFixture
) -> None:
    api, seen = watched(http_max_body_bytes=1024)
    caplog.set_level(logging.WARNING)
    with _raw(api) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
            b"Content-Type: application/json\r\n\r\n{"
        )
        head = _read_head(sock)
        assert head.startswith(b"HTTP/1.1 413 ")
        assert b"connection: close" in head
        # The server stopped reading: what we push now fills the buffers and stays there,
        # far short of the 100 MB promised (a server reading it would take it all).
        sock.setblocking(False)
        pushed = 0
        with contextlib.suppress(BlockingIOError, ConnectionError):
            for _ in range(2_000):
                pushed += sock.send(b"1" * 65_536)
        assert pushed < 50_000_000
        sock.settimeout(10)
        assert _drain_until_closed(sock)  # then closed by the server (after the linger)
    assert seen == []
    assert any("413" in r.getMessage() for r in caplog.records)
    assert api.http.get("/healthz").status_code == 200


def test_a_chunked_body_over_the_limit_gets_413_from_the_server_without_errors(
    watched: Callable[..., tuple[Api, list[str]]], caplog: pytest.LogCaptureFixture
) -> None:
    api, _ = watched(http_max_body_bytes=1024)
    caplog.set_level(logging.WARNING)

    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"username=u&password=" + b"p" * 512

    for path in ("/api/v1/auth/token", f"/api/v1/tenants/{TENANT}/tickets"):
        r = api.http.post(
            path,
            content=chunks(),
            headers={**api.auth("operator"), "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 413, (path, r.text)
        assert r.json() == {
            "error": "payload_too_large",
            "message": "request body larger than 1024 bytes",
            "limit": 1024,
        }
    time.sleep(0.3)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert api.http.get("/healthz").status_code == 200


def test_refused_sign_ins_are_answered_by_the_server_and_a_refused_connection_is_closed(
    watched: Callable[..., tuple[Api, list[str]]],
) -> None:
    api, seen = watched(login_per_ip=2, login_window_s=600)
    assert _login(api, "nobody", "guess").status_code == 401
    assert _login(api, "nobody", "guess").status_code == 401
    seen.clear()
    form = b"username=operator&password=operator"
    request = (
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(form), form)
    )
    with _raw(api) as sock:
        reader = sock.makefile("rb")
        sock.sendall(request)
        first = _read_response(reader)
        assert first.status == 429
        assert json.loads(first.body)["error"] == "too_many_requests"
        assert int(first.headers["retry-after"]) >= 1
        assert "connection" not in first.headers  # one refusal keeps the connection
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(reader).status == 200  # ...and it still serves
        sock.sendall(request)
        assert _read_response(reader).status == 429
        sock.sendall(request)
        last = _read_response(reader)
        assert last.status == 429
        assert last.headers["connection"] == "close"  # the third refusal closes it
        assert reader.read() == b""
    assert seen == ["GET /healthz"]  # no refused sign-in reached the app
    with _raw(api) as sock:  # a request pipelined behind a refusal is not answered first
        reader = sock.makefile("rb")
        sock.sendall(request + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(reader).status == 429
        assert reader.read() == b""  # closed after the refusal: answers never go out of order


def test_early_refusals_use_the_address_a_trusted_proxy_forwards(
    watched: Callable[..., tuple[Api, list[str]]],
) -> None:
    api, _ = watched(login_per_ip=2, login_window_s=600)

    def login_from(address: str) -> int:
        r = api.http.post(
            "/api/v1/auth/token",
            data={"username": "nobody", "password": "guess"},
            headers={"X-Forwarded-For": address},
        )
        return r.status_code

    assert [login_from("10.0.0.1") for _ in range(3)] == [401, 401, 429]
    assert login_from("10.0.0.2") == 401  # another client behind the same proxy


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _read_response(reader: BinaryIO) -> _Response:
    status = int(reader.readline().split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return _Response(status, headers, reader.read(int(headers.get("content-length", "0"))))


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _drain_until_closed(sock: socket.socket) -> bool:
    try:
        while sock.recv(65_536):
            pass
    except ConnectionResetError:
        pass
    return True
