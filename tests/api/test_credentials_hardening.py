"""Credentials behave as people expect (issue 12): a new password, a role change, a deletion or
a sign-out revokes the user's tokens at once, on HTTP and on live MQTT connections; a kiosk token
issues tickets at a human pace; production hides /docs and /metrics; HTTPS with HSTS; the
advertised URLs never come from the Host header; the start-up guard judges the bootstrap
account only."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from config import Settings
from publisher_api.bootstrap.seed import (
    UnsafeDefaults,
    ensure_bootstrap_superadmin,
    refuse_dev_logins,
)
from publisher_api.realtime import NullSink
from publisher_api.schemas import TenantIn, UserIn
from publisher_api.services import admin as admin_service
from publisher_api.services.changes import Writer
from publisher_api.store.database import Database
from publisher_api.store.migrate import upgrade_to_head
from tests.api.conftest import TENANT, Api, StartApi, api_settings, serve
from tests.support.mqtt import Recorder

BASE = f"/api/v1/tenants/{TENANT}"
PRODUCTION_SECRET = "production-test-secret-0123456789-abcdefghij"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(api: Api, username: str, password: str) -> str:
    r = api.http.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _works(api: Api, token: str) -> bool:
    status = api.http.get(f"{BASE}/services", headers=_bearer(token)).status_code
    assert status in (200, 401), status
    return status == 200


def _user(api: Api, username: str, password: str, role: str = "operator") -> None:
    r = api.http.post(
        f"{BASE}/users",
        json={"username": username, "password": password, "role": role},
        headers=api.auth("admin"),
    )
    assert r.status_code == 201, r.text


def _patch(api: Api, username: str, **body: str) -> None:
    r = api.http.patch(f"{BASE}/users/{username}", json=body, headers=api.auth("admin"))
    assert r.status_code == 200, r.text


def test_a_new_password_revokes_the_users_tokens(start_api: StartApi) -> None:
    api = start_api()
    _user(api, "ana", "first-password")
    old = _token(api, "ana", "first-password")
    _patch(api, "ana", password="second-password")
    assert not _works(api, old)
    assert _works(api, _token(api, "ana", "second-password"))


def test_a_role_flipped_back_does_not_revive_old_tokens(start_api: StartApi) -> None:
    api = start_api()
    _user(api, "bia", "bia-password")
    old = _token(api, "bia", "bia-password")
    _patch(api, "bia", role="admin")
    _patch(api, "bia", role="operator")
    assert not _works(api, old)


def test_a_user_deleted_and_created_again_does_not_revive_old_tokens(start_api: StartApi) -> None:
    api = start_api()
    _user(api, "caio", "caio-password")
    old = _token(api, "caio", "caio-password")
    assert api.http.delete(f"{BASE}/users/caio", headers=api.auth("admin")).status_code == 204
    _user(api, "caio", "caio-password")
    assert not _works(api, old)


def test_logout_revokes_on_http_and_closes_live_mqtt(start_api: StartApi) -> None:
    api = start_api()
    token = _token(api, "operator", "operator")
    other_session = _token(api, "operator", "operator")
    mqtt = Recorder("127.0.0.1", api.settings.mqtt_tcp_port, password=token).connect()
    try:
        assert mqtt.subscribe(f"tenant/{TENANT}/queue") == [1]
        r = api.http.post("/api/v1/auth/logout", headers=_bearer(token))
        assert r.status_code == 204
        assert mqtt.disconnected.wait(10), "the signed-out user's MQTT connection stayed open"
    finally:
        mqtt.close()
    assert not _works(api, token)
    assert not _works(api, other_session)  # signed out everywhere
    assert _works(api, _token(api, "operator", "operator"))
    device = api.http.get(f"{BASE}/devices", headers=api.auth("admin"))
    assert device.status_code == 200


def test_a_totem_issues_at_a_human_pace_but_staff_are_not_limited(start_api: StartApi) -> None:
    api = start_api(issue_per_device=3, issue_window_s=600)
    r = api.http.post(
        f"{BASE}/devices", json={"id": "kiosk-9", "role": "totem"}, headers=api.auth("admin")
    )
    kiosk = _bearer(r.json()["token"])
    statuses = [
        api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=kiosk).status_code
        for _ in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]
    refused = api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=kiosk)
    assert refused.json()["error"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) > 0
    for _ in range(5):
        api.issue("A")  # an operator still issues


def test_advertised_urls_ignore_the_host_header(start_api: StartApi) -> None:
    api = start_api()
    creds = api.http.get(f"{BASE}/mqtt-credentials", headers={"Host": "evil.example"}).json()
    assert "evil" not in creds["mqtt_url"]
    assert "evil" not in (creds["ws_url"] or "")
    assert creds["mqtt_url"] == f"mqtt://127.0.0.1:{api.settings.mqtt_tcp_port}"
    ticket = api.issue("A")["id"]
    qr = [
        api.http.get(f"/t/{TENANT}/ticket/{ticket}/qr.svg", headers={"Host": host}).content
        for host in ("evil.example", "other.example", f"127.0.0.1:{api.settings.http_port}")
    ]
    assert qr[0] == qr[1] == qr[2]  # the phone's URL does not follow the Host header
    configured = start_api(public_url="https://queue.example")
    creds = configured.http.get(f"{BASE}/mqtt-credentials", headers={"Host": "evil.example"})
    assert creds.json()["ws_url"] == "wss://queue.example/mqtt"


def test_the_public_base_url_is_published_where_every_client_looks(start_api: StartApi) -> None:
    """Issue 14: devices and pages read the base of the phones' pages (QR codes) from the
    credentials document they already fetch: QUEUECAST_PUBLIC_URL, else the address reached."""
    api = start_api()
    creds = api.http.get(f"{BASE}/mqtt-credentials", headers={"Host": "evil.example"}).json()
    assert creds["public_url"] == f"http://127.0.0.1:{api.settings.http_port}"
    configured = start_api(public_url="https://queue.example/")
    creds = configured.http.get(f"{BASE}/mqtt-credentials", headers={"Host": "evil.example"})
    assert creds.json()["public_url"] == "https://queue.example"


# --- production ---------------------------------------------------------------------------------


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(
        tmp_path,
        env="production",
        secret_key=PRODUCTION_SECRET,
        metrics_token="metrics-token-0123456789",
        bootstrap_superadmin=SecretStr("boss:Boss-Password-2026!"),
    )
    running = serve(settings)
    with httpx.Client(base_url=running.base_url, timeout=20) as http:
        yield Api(settings, http)
    running.stop()


def test_production_serves_no_docs_and_guards_metrics(production: Api) -> None:
    http = production.http
    assert http.get("/docs").status_code == 404  # FastAPI's UI loads scripts from a CDN
    assert http.get("/redoc").status_code == 404
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers=_bearer("wrong")).status_code == 401
    assert http.get("/metrics", headers=_bearer("metrics-token-0123456789")).status_code == 200
    boss = _token(production, "boss", "Boss-Password-2026!")
    assert http.get("/metrics", headers=_bearer(boss)).status_code == 200


def test_weak_secrets_and_bootstrap_passwords_are_refused() -> None:
    with pytest.raises(ValidationError, match="predictable"):
        Settings(_env_file=None, env="production", secret_key="x" * 40)
    with pytest.raises(ValidationError, match="at least 12"):
        Settings(_env_file=None, env="dev", bootstrap_superadmin=SecretStr("root:abcd"))
    with pytest.raises(ValidationError, match="at least 12"):
        Settings(_env_file=None, env="dev", bootstrap_superadmin=SecretStr("root:aaaaaaaaaaaaaa"))
    Settings(_env_file=None, env="dev", bootstrap_superadmin=SecretStr("root:Long-enough-2026"))


def test_the_start_up_guard_ignores_names_tenants_chose(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'guard.db'}")
    try:
        upgrade_to_head(database)
        writer = Writer(database, NullSink())
        admin_service.create_tenant(
            writer, TenantIn(id="clinic", name="Clinic", timezone="UTC", locale="en")
        )
        # A tenant admin's poor choice: it must not stop the server for every tenant.
        admin_service.create_user(
            writer, "clinic", UserIn(username="operator", password="operator", role="operator")
        )
        refuse_dev_logins(database)
        settings = api_settings(tmp_path, bootstrap_superadmin=SecretStr("root:root-password-1"))
        ensure_bootstrap_superadmin(database, settings)
        refuse_dev_logins(database)
    finally:
        database.dispose()


def test_the_start_up_guard_still_refuses_the_dev_superadmin(tmp_path: Path) -> None:
    from publisher_api.bootstrap.seed import seed_dev

    database = Database(f"sqlite:///{tmp_path / 'guard.db'}")
    try:
        upgrade_to_head(database)
        seed_dev(Writer(database, NullSink()), api_settings(tmp_path))
        with pytest.raises(UnsafeDefaults, match="superadmin 'root'"):
            refuse_dev_logins(database)
    finally:
        database.dispose()


# --- HTTPS --------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_https_with_hsts(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    settings = api_settings(
        tmp_path, http_tls_cert=cert, http_tls_key=key, http_max_body_bytes=1024
    )
    running = serve(settings)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        base = f"https://127.0.0.1:{settings.http_port}"
        with httpx.Client(base_url=base, verify=context, timeout=20) as http:
            r = http.get("/healthz")
            assert r.status_code == 200
            assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
            creds = http.get(f"{BASE}/mqtt-credentials").json()
            assert creds["ws_url"].startswith("wss://127.0.0.1:")
            # Refusals written by the HTTP protocol itself carry it too.
            big = http.post("/api/v1/auth/token", content=b"x" * 2048)
            assert big.status_code == 413
            assert big.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        running.stop()
    # The refused connection was closed with reading paused: over TLS a plain close waits for
    # the client's close_notify (never read), and held the server's stop for asyncio's 30 s.
    assert not running.thread.is_alive(), "the HTTPS server did not stop after a 413"
