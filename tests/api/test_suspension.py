"""Suspending a tenant (superadmin): its users cannot sign in, its tokens and devices are
refused, until it is resumed."""

from __future__ import annotations

from tests.api.conftest import Api


def test_suspend_and_resume(api: Api) -> None:
    root = api.auth("root")
    r = api.http.post("/api/v1/tenants", json={"id": "paused", "name": "Paused"}, headers=root)
    assert r.status_code == 201
    r = api.http.post(
        "/api/v1/tenants/paused/users",
        json={"username": "paused-admin", "password": "secret-pass", "role": "admin"},
        headers=root,
    )
    assert r.status_code == 201
    token = api.login("paused-admin", "secret-pass")
    mine = {"Authorization": f"Bearer {token}"}
    assert api.http.get("/api/v1/tenants/paused/users", headers=mine).status_code == 200

    admin_of_default = api.auth("admin")
    assert (
        api.http.put("/api/v1/tenants/paused/suspension", headers=admin_of_default).status_code
        == 403
    )
    r = api.http.put("/api/v1/tenants/paused/suspension", headers=root)
    assert r.status_code == 200
    assert r.json()["tenant"] == "paused"
    assert api.http.get("/api/v1/tenants/paused/users", headers=mine).status_code == 401
    login = api.http.post(
        "/api/v1/auth/token", data={"username": "paused-admin", "password": "secret-pass"}
    )
    assert (login.status_code, login.json()["error"]) == (403, "tenant_suspended")
    listed = api.http.get("/api/v1/suspensions", headers=root).json()
    assert [s["tenant"] for s in listed] == ["paused"]
    assert api.http.get("/api/v1/tenants/default", headers=admin_of_default).status_code == 200

    assert api.http.delete("/api/v1/tenants/paused/suspension", headers=root).status_code == 204
    assert api.http.get("/api/v1/tenants/paused/users", headers=mine).status_code == 200
    assert api.http.get("/api/v1/suspensions", headers=root).json() == []
    assert api.http.put("/api/v1/tenants/nobody/suspension", headers=root).status_code == 404
