"""Rules the admin console relies on: a tenant keeps at least one admin; statistics by local
hour of arrival and the median wait."""

from __future__ import annotations

from publisher_api.services import stats
from tests.api.conftest import TENANT, Api

BASE = f"/api/v1/tenants/{TENANT}"


def test_the_last_admin_cannot_be_demoted_or_removed(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.patch(f"{BASE}/users/admin", json={"role": "operator"}, headers=admin)
    assert (r.status_code, r.json()["error"]) == (409, "last_admin")
    root = api.auth("root")
    r = api.http.delete(f"{BASE}/users/admin", headers=root)
    assert (r.status_code, r.json()["error"]) == (409, "last_admin")
    # With a second admin, the first may step down.
    r = api.http.post(
        f"{BASE}/users",
        json={"username": "second-admin", "password": "long-enough", "role": "admin"},
        headers=admin,
    )
    assert r.status_code == 201
    r = api.http.patch(f"{BASE}/users/second-admin", json={"role": "operator"}, headers=admin)
    assert r.status_code == 200
    assert r.json()["role"] == "operator"


def test_stats_by_hour_and_median(api: Api) -> None:
    api.issue("A")
    body = api.http.get(f"{BASE}/stats", headers=api.auth("admin")).json()
    assert sum(f["issued"] for f in body["by_hour"]) == body["total"]["issued"]
    assert all(len(f["key"]) == 2 for f in body["by_hour"])
    assert "p50_wait_s" in body["total"]
    csv = api.http.get(f"{BASE}/stats?format=csv", headers=api.auth("admin")).text
    assert any(line.startswith("hour,") for line in csv.splitlines())
    assert stats.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == 5


def test_a_disabled_user_is_refused_until_enabled(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.post(
        f"{BASE}/users",
        json={"username": "carla", "password": "carla-pass-1", "role": "operator"},
        headers=admin,
    )
    assert r.status_code == 201
    token = {"Authorization": f"Bearer {api.login('carla', 'carla-pass-1')}"}
    assert api.http.get(f"{BASE}/stats", headers=token).status_code == 200
    assert api.http.put(f"{BASE}/users/carla/disabled", headers=admin).status_code == 204
    assert api.http.get(f"{BASE}/disabled-users", headers=admin).json() == ["carla"]
    assert api.http.get(f"{BASE}/stats", headers=token).status_code == 401
    login = api.http.post(
        "/api/v1/auth/token", data={"username": "carla", "password": "carla-pass-1"}
    )
    assert (login.status_code, login.json()["error"]) == (403, "user_disabled")
    assert api.http.delete(f"{BASE}/users/carla/disabled", headers=admin).status_code == 204
    assert api.http.get(f"{BASE}/stats", headers=token).status_code == 200
    assert api.http.get(f"{BASE}/disabled-users", headers=admin).json() == []


def test_nobody_disables_themselves_or_the_last_admin(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.put(f"{BASE}/users/admin/disabled", headers=admin)
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = api.http.put(f"{BASE}/users/admin/disabled", headers=api.auth("root"))
    assert r.json()["error"] in {"last_admin"}
    assert r.status_code == 409
    r = api.http.put(f"{BASE}/users/nobody/disabled", headers=admin)
    assert r.status_code == 404
    r = api.http.put(f"{BASE}/users/admin/disabled", headers=api.auth("operator"))
    assert r.status_code == 403


def test_services_on_kiosks_order_description_and_active(api: Api) -> None:
    admin = api.auth("admin")
    before = [s["prefix"] for s in api.queue()["services"]]
    assert before == sorted(before)  # no presentation yet: by prefix
    r = api.http.put(
        f"{BASE}/services/P/kiosk",
        json={"position": 1, "description": "Idosos, gestantes", "active": True},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    r = api.http.put(
        f"{BASE}/services/A/kiosk", json={"position": 2, "active": False}, headers=admin
    )
    assert r.status_code == 200
    services = {s["prefix"]: s for s in api.queue()["services"]}
    assert [s["prefix"] for s in api.queue()["services"]][:2] == ["P", "A"]
    assert services["P"]["description"] == "Idosos, gestantes"
    assert (services["A"]["active"], services["P"]["active"]) == (False, True)
    # Still there after an unrelated change (the snapshot is rebuilt from the previous one).
    api.issue("P", priority=True)
    assert [s["prefix"] for s in api.queue()["services"]][:2] == ["P", "A"]
    assert api.queue()["services"][0]["description"] == "Idosos, gestantes"

    assert api.http.put(f"{BASE}/services/Z/kiosk", json={}, headers=admin).status_code == 404
    long = {"description": "x" * 301}
    assert api.http.put(f"{BASE}/services/A/kiosk", json=long, headers=admin).status_code == 422
    operator = api.auth("operator")
    assert api.http.put(f"{BASE}/services/A/kiosk", json={}, headers=operator).status_code == 403
    api.http.put(f"{BASE}/services/A/kiosk", json={"active": True}, headers=admin)
