"""Who may do what: 401 without a valid token, 403 for another tenant or a role that may not,
revocation of device tokens and removed users. The tenant-scoped endpoint list comes from the
app's own OpenAPI document, so a new endpoint is covered the day it is added."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from protocol import Role, issue_token
from protocol.auth import peek_token
from tests.api.conftest import TENANT, Api

BASE = f"/api/v1/tenants/{TENANT}"


@pytest.fixture(scope="module")
def other_admin(api: Api) -> str:
    """An admin of a second tenant, ``other``."""
    root = api.auth("root")
    r = api.http.post(
        "/api/v1/tenants",
        json={"id": "other", "name": "Other", "timezone": "Europe/Lisbon", "locale": "en"},
        headers=root,
    )
    assert r.status_code == 201, r.text
    r = api.http.post(
        "/api/v1/tenants/other/users",
        json={"username": "other-admin", "password": "secret-1", "role": "admin"},
        headers=root,
    )
    assert r.status_code == 201, r.text
    return api.login("other-admin", "secret-1")


def tenant_scoped_operations(api: Api) -> list[tuple[str, str]]:
    spec = api.http.get("/openapi.json").json()
    operations = []
    for path, methods in spec["paths"].items():
        if "{tenant}" not in path:
            continue
        for method, operation in methods.items():
            if operation.get("security"):
                operations.append((method.upper(), path))
    return operations


def concrete(path: str, ticket_id: str) -> str:
    values = {
        "tenant": TENANT,
        "ticket_id": ticket_id,
        "prefix": "A",
        "number": "1",
        "counter": "1",
        "username": "operator",
        "device_id": "totem-1",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_openapi_lists_the_protected_endpoints(api: Api) -> None:
    operations = tenant_scoped_operations(api)
    assert ("POST", "/api/v1/tenants/{tenant}/counters/{counter}/call-next") in operations
    assert ("POST", "/api/v1/tenants/{tenant}/devices") in operations
    assert ("GET", "/api/v1/tenants/{tenant}/queue") not in operations  # public
    assert len(operations) >= 25


def test_every_tenant_scoped_endpoint_needs_a_token(api: Api) -> None:
    ticket = api.issue()
    for method, path in tenant_scoped_operations(api):
        r = api.http.request(method, concrete(path, ticket["id"]))
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"] == "unauthorized"
        assert r.json()["message"]
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_every_tenant_scoped_endpoint_refuses_another_tenant(api: Api, other_admin: str) -> None:
    ticket = api.issue()
    seq = api.queue()["seq"]
    headers = {"Authorization": f"Bearer {other_admin}"}
    for method, path in tenant_scoped_operations(api):
        r = api.http.request(method, concrete(path, ticket["id"]), headers=headers, json={})
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"] == "forbidden"
    assert api.queue()["seq"] == seq  # nothing changed in the tenant
    assert api.http.get(f"{BASE}/tickets/{ticket['id']}").json()["status"] == "waiting"


def test_a_ticket_is_not_visible_under_another_tenant(api: Api, other_admin: str) -> None:
    ticket = api.issue()
    r = api.http.get(f"/api/v1/tenants/other/tickets/{ticket['id']}")
    assert r.status_code == 404
    r = api.http.post(
        f"/api/v1/tenants/other/tickets/{ticket['id']}/cancel",
        headers={"Authorization": f"Bearer {other_admin}"},
    )
    assert r.status_code == 404
    assert api.http.get(f"{BASE}/tickets/{ticket['id']}").json()["status"] == "waiting"


def test_unknown_tenant_is_404_for_a_superadmin(api: Api) -> None:
    r = api.http.get("/api/v1/tenants/ghost/services", headers=api.auth("root"))
    assert r.status_code == 404
    assert r.json()["message"] == "tenant ghost not found"


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "status"),
    [
        ("operator", "POST", "/services", {"prefix": "X", "name": "X"}, 403),
        ("operator", "GET", "/users", None, 403),
        ("operator", "GET", "/stats", None, 200),
        ("admin", "POST", "/counters", {"number": 42, "name": "Guichê 42"}, 201),
        ("admin", "GET", "/stats", None, 200),
    ],
)
def test_roles(
    api: Api, user: str, method: str, path: str, body: dict[str, Any] | None, status: int
) -> None:
    r = api.http.request(method, BASE + path, json=body, headers=api.auth(user))
    assert r.status_code == status, r.text


def test_only_a_superadmin_creates_tenants(api: Api) -> None:
    r = api.http.post(
        "/api/v1/tenants", json={"id": "nope", "name": "Nope"}, headers=api.auth("admin")
    )
    assert r.status_code == 403


def test_wrong_password_is_401_json(api: Api) -> None:
    r = api.http.post("/api/v1/auth/token", data={"username": "admin", "password": "wrong"})
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    r = api.http.post("/api/v1/auth/token", data={"username": "nobody", "password": "x"})
    assert r.status_code == 401


def test_expired_and_forged_tokens_are_401(api: Api) -> None:
    secret = api.settings.secret_key.get_secret_value()
    expired, _ = issue_token(
        secret=secret,
        subject="operator",
        role=Role.OPERATOR,
        tenant=TENANT,
        ttl=timedelta(hours=1),
        now=datetime.now(UTC) - timedelta(hours=3),
    )
    forged, _ = issue_token(
        secret="x" * 40,
        subject="operator",
        role=Role.OPERATOR,
        tenant=TENANT,
        ttl=timedelta(hours=1),
    )
    for token, words in [(expired, "expired"), (forged, "invalid"), ("garbage", "invalid")]:
        r = api.http.post(
            f"{BASE}/counters/1/call-next", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 401
        assert words in r.json()["message"]


def test_login_tokens_expire_after_the_configured_ttl(api: Api) -> None:
    r = api.http.post("/api/v1/auth/token", data={"username": "operator", "password": "operator"})
    assert r.json()["expires_in"] == api.settings.access_token_ttl_s
    assert r.json()["token_type"] == "bearer"


def test_public_tokens_cannot_use_the_rest_api(api: Api) -> None:
    token, _ = issue_token(
        secret=api.settings.secret_key.get_secret_value(),
        subject="public",
        role=Role.PUBLIC,
        tenant=TENANT,
        ttl=timedelta(minutes=5),
    )
    r = api.http.post(
        f"{BASE}/tickets", json={"service": "A"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 403


def test_devices_totem_issues_display_does_not_and_rotation_revokes(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.post(f"{BASE}/devices", json={"id": "totem-x", "role": "totem"}, headers=admin)
    assert r.status_code == 201
    assert r.json()["id"] == "totem-x"
    old = {"Authorization": f"Bearer {r.json()['token']}"}
    assert api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=old).status_code == 201
    assert api.http.post(f"{BASE}/counters/1/call-next", headers=old).status_code == 403

    r = api.http.post(f"{BASE}/devices/totem-x/token", headers=admin)
    new = {"Authorization": f"Bearer {r.json()['token']}"}
    r = api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=old)
    assert r.status_code == 401
    assert "revoked" in r.json()["message"]
    assert api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=new).status_code == 201

    assert api.http.delete(f"{BASE}/devices/totem-x", headers=admin).status_code == 204
    assert api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=new).status_code == 401

    r = api.http.post(f"{BASE}/devices", json={"id": "screen-x", "role": "display"}, headers=admin)
    display = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (
        api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=display).status_code == 403
    )
    assert api.http.get(f"{BASE}/services", headers=display).status_code == 200


def test_a_device_renews_its_own_token_and_revocation_still_holds(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.post(f"{BASE}/devices", json={"id": "panel-r", "role": "display"}, headers=admin)
    assert r.status_code == 201
    first = r.json()["token"]
    ttl = api.settings.device_token_ttl_days * 86_400
    # A token about to expire (same token id), as a device would hold after a year on the wall.
    held = peek_token(first)
    expiring, _ = issue_token(
        secret=api.settings.secret_key.get_secret_value(),
        subject="panel-r",
        role=Role.DISPLAY,
        tenant=TENANT,
        ttl=timedelta(minutes=5),
        token_id=held.token_id,
    )

    r = api.http.post("/api/v1/auth/renew", headers={"Authorization": f"Bearer {expiring}"})
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == ttl
    renewed = peek_token(r.json()["access_token"])
    assert (renewed.subject, renewed.tenant, renewed.role) == ("panel-r", TENANT, Role.DISPLAY)
    assert renewed.token_id == held.token_id
    assert renewed.expires_at - datetime.now(UTC) > timedelta(seconds=ttl - 60)
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert api.http.get(f"{BASE}/services", headers=fresh).status_code == 200

    # Rotation revokes every token of the old id, renewed or not; they cannot renew either.
    assert api.http.post(f"{BASE}/devices/panel-r/token", headers=admin).status_code == 200
    assert api.http.get(f"{BASE}/services", headers=fresh).status_code == 401
    r = api.http.post("/api/v1/auth/renew", headers=fresh)
    assert r.status_code == 401
    assert "revoked" in r.json()["message"]


def test_only_device_tokens_renew(api: Api) -> None:
    r = api.http.post("/api/v1/auth/renew", headers=api.auth("operator"))
    assert r.status_code == 403
    assert "sign in again" in r.json()["message"]
    assert api.http.post("/api/v1/auth/renew").status_code == 401


def test_a_removed_user_token_stops_working(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.post(
        f"{BASE}/users",
        json={"username": "temp-op", "password": "temp-pass", "role": "operator"},
        headers=admin,
    )
    assert r.status_code == 201
    token = {"Authorization": f"Bearer {api.login('temp-op', 'temp-pass')}"}
    assert api.http.get(f"{BASE}/services", headers=token).status_code == 200
    assert api.http.delete(f"{BASE}/users/temp-op", headers=admin).status_code == 204
    assert api.http.get(f"{BASE}/services", headers=token).status_code == 401


def test_bad_device_ids_are_refused(api: Api) -> None:
    for bad in ["", "UPPER", "a/b", "a+b", "#", "x" * 64]:
        r = api.http.post(
            f"{BASE}/devices", json={"id": bad, "role": "totem"}, headers=api.auth("admin")
        )
        assert r.status_code == 422, bad
