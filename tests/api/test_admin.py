"""Administration over HTTP: list/update/delete of services, counters, users, devices, tenant
settings (the priority policy changes the call order at once) and tenant deletion."""

from __future__ import annotations

from tests.api.conftest import TENANT, Api

BASE = f"/api/v1/tenants/{TENANT}"


def test_services_list_update_and_delete(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.post(f"{BASE}/services", json={"prefix": "X", "name": "Exames"}, headers=admin)
    assert r.status_code == 201
    assert (
        api.http.post(
            f"{BASE}/services", json={"prefix": "X", "name": "Again"}, headers=admin
        ).status_code
        == 409
    )
    r = api.http.patch(f"{BASE}/services/X", json={"priority_allowed": True}, headers=admin)
    assert r.json() == {"prefix": "X", "name": "Exames", "priority_allowed": True}
    assert "X" in {s["prefix"] for s in api.queue()["services"]}
    ticket = api.issue("X")
    r = api.http.delete(f"{BASE}/services/X", headers=admin)
    assert (r.status_code, r.json()["unfinished"]) == (409, 1)
    api.act(ticket["id"], "cancel")
    assert api.http.delete(f"{BASE}/services/X", headers=admin).status_code == 204
    listed = api.http.get(f"{BASE}/services", headers=api.auth("operator")).json()
    assert "X" not in {s["prefix"] for s in listed}
    assert api.http.get(f"{BASE}/tickets/{ticket['id']}").json()["service"] == "X"  # history kept


def test_counters_rename_shows_on_screens_and_delete(api: Api) -> None:
    admin = api.auth("admin")
    assert (
        api.http.post(
            f"{BASE}/counters", json={"number": 7, "name": "Mesa 7"}, headers=admin
        ).status_code
        == 201
    )
    r = api.http.patch(f"{BASE}/counters/7", json={"name": "Sala 7"}, headers=admin)
    assert r.json() == {
        "number": 7, "name": "Sala 7", "status": "closed", "holder": None,
        "pause_reason": None, "status_since": None, "services": [], "open_ticket": None,
    }  # fmt: skip
    public = {"number": 7, "name": "Sala 7", "status": "closed", "services": []}
    assert public in api.queue()["counters"]
    assert api.http.delete(f"{BASE}/counters/7", headers=admin).status_code == 204
    assert api.http.delete(f"{BASE}/counters/7", headers=admin).status_code == 404
    r = api.http.post(f"{BASE}/counters/7/call-next", headers=api.auth("operator"))
    assert r.status_code == 404


def test_users_role_change_revokes_tokens(api: Api) -> None:
    admin = api.auth("admin")
    body = {"username": "maria", "password": "maria-pass", "role": "operator"}
    assert api.http.post(f"{BASE}/users", json=body, headers=admin).status_code == 201
    assert api.http.post(f"{BASE}/users", json=body, headers=admin).status_code == 409
    token = {"Authorization": f"Bearer {api.login('maria', 'maria-pass')}"}
    assert api.http.get(f"{BASE}/services", headers=token).status_code == 200
    r = api.http.patch(f"{BASE}/users/maria", json={"role": "admin"}, headers=admin)
    assert r.json() == {"username": "maria", "role": "admin", "tenant": TENANT}
    assert api.http.get(f"{BASE}/services", headers=token).status_code == 401
    users = api.http.get(f"{BASE}/users", headers=admin).json()
    assert {"username": "maria", "role": "admin", "tenant": TENANT} in users
    assert all("password" not in u and "password_hash" not in u for u in users)
    r = api.http.post(
        f"{BASE}/users", json={**body, "username": "x", "role": "superadmin"}, headers=admin
    )
    assert r.status_code == 422
    short = {**body, "username": "y", "password": "short"}
    r = api.http.post(f"{BASE}/users", json=short, headers=admin)
    assert r.status_code == 422
    assert "password" in r.json()["message"]


def test_devices_are_listed_without_tokens(api: Api) -> None:
    admin = api.auth("admin")
    api.http.post(f"{BASE}/devices", json={"id": "screen-9", "role": "display"}, headers=admin)
    devices = api.http.get(f"{BASE}/devices", headers=admin).json()
    assert {"id": "screen-9", "role": "display"} in devices
    assert all(set(d) == {"id", "role"} for d in devices)
    r = api.http.post(f"{BASE}/devices", json={"id": "screen-9", "role": "display"}, headers=admin)
    assert r.status_code == 409


def test_strict_priority_setting_reorders_the_queue_at_once(api: Api) -> None:
    admin = api.auth("admin")
    api.open_counter(1)
    while api.call_next(1, open_first=False).status_code == 200:
        pass
    normal, priority = api.issue("A"), api.issue("P", priority=True)
    r = api.http.patch(
        f"{BASE}", json={"priority_mode": "strict", "ticker": "Bem-vindos"}, headers=admin
    )
    assert (r.json()["priority_mode"], r.json()["ticker"]) == ("strict", "Bem-vindos")
    queue = api.queue()
    assert [w["id"] for w in queue["waiting"]] == [priority["id"], normal["id"]]
    assert queue["ticker"] == "Bem-vindos"
    r = api.http.patch(f"{BASE}", json={"timezone": "Mars/Base", "locale": "fr"}, headers=admin)
    assert r.status_code == 422
    api.http.patch(f"{BASE}", json={"priority_mode": "ratio"}, headers=admin)


def test_deleting_a_tenant_removes_it_and_its_logins(api: Api) -> None:
    root = api.auth("root")
    tenant = {"id": "short-lived", "name": "Short", "timezone": "UTC", "locale": "es"}
    assert api.http.post("/api/v1/tenants", json=tenant, headers=root).status_code == 201
    assert api.http.post("/api/v1/tenants", json=tenant, headers=root).status_code == 409
    user = {"username": "sl-admin", "password": "sl-pass-1", "role": "admin"}
    api.http.post("/api/v1/tenants/short-lived/users", json=user, headers=root)
    token = {"Authorization": f"Bearer {api.login('sl-admin', 'sl-pass-1')}"}
    assert api.queue("short-lived")["locale"] == "es"
    assert api.http.delete("/api/v1/tenants/short-lived", headers=root).status_code == 204
    assert api.http.get("/api/v1/tenants/short-lived/queue").status_code == 404
    assert api.http.get("/api/v1/tenants/short-lived", headers=token).status_code == 401
    assert "short-lived" not in {
        t["id"] for t in api.http.get("/api/v1/tenants", headers=root).json()
    }
