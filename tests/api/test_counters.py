"""The counter workflow over real HTTP: open/pause/resume/close with a holder, the one-open-ticket
rule on every call path, counters' services, ticket search, the lifecycle table, the call
timeout setting, and a clear 409/422 for each refusal (nothing changes)."""

from __future__ import annotations

from typing import Any

import pytest

from publisher_api.domain.lifecycle import TRANSITIONS, action_name
from tests.api.conftest import TENANT, Api

BASE = f"/api/v1/tenants/{TENANT}"


def counter(api: Api, number: int, user: str = "operator") -> Any:
    listed = api.http.get(f"{BASE}/counters", headers=api.auth(user)).json()
    return next(c for c in listed if c["number"] == number)


def post(api: Api, path: str, user: str = "operator", **kwargs: Any) -> Any:
    return api.http.post(f"{BASE}{path}", headers=api.auth(user), **kwargs)


def reset(api: Api) -> None:
    """Every counter closed and nothing waiting or held (each test starts from there)."""
    api.open_counter(3)
    while api.call_next(3, open_first=False).status_code == 200:
        pass
    for number in (1, 2, 3):
        held = counter(api, number)["open_ticket"]
        if held is not None:
            assert post(api, f"/tickets/{held['id']}/cancel").status_code == 200
        assert post(api, f"/counters/{number}/close").status_code == 200


@pytest.fixture(autouse=True)
def _clean(api: Api) -> None:
    api.add_user("ana")
    api.add_user("bia")
    reset(api)


def test_open_pause_resume_close_with_a_holder(api: Api) -> None:
    seq = api.queue()["seq"]
    r = post(api, "/counters/1/open", "ana")
    assert r.status_code == 200
    opened = r.json()
    assert (opened["status"], opened["holder"], opened["open_ticket"]) == ("open", "ana", None)
    assert opened["status_since"] is not None
    public = next(c for c in api.queue()["counters"] if c["number"] == 1)
    assert public["status"] == "open"
    assert "holder" not in public  # who works where is not for public screens
    assert api.queue()["seq"] == seq + 1
    assert post(api, "/counters/1/open", "ana").json()["status"] == "open"  # retry: no change
    assert api.queue()["seq"] == seq + 1

    r = post(api, "/counters/1/pause", "ana", json={"reason": "  café  "})
    assert (r.json()["status"], r.json()["pause_reason"]) == ("paused", "café")
    api.issue("A")
    r = post(api, "/counters/1/call-next", "ana")
    assert (r.status_code, r.json()["error"], r.json()["reason"]) == (409, "counter_paused", "café")
    r = post(api, "/counters/1/pause", "ana", json={"reason": "again"})
    assert (r.status_code, r.json()["error"]) == (409, "counter_paused")
    assert post(api, "/counters/1/resume", "ana").json()["status"] == "open"
    assert post(api, "/counters/1/call-next", "ana").status_code == 200

    r = post(api, "/counters/1/close", "ana")
    assert (r.json()["status"], r.json()["holder"]) == ("closed", None)
    assert r.json()["open_ticket"]["status"] == "called"  # a held ticket stays as it was
    r = post(api, "/counters/1/call-next", "ana")
    assert (r.status_code, r.json()["error"]) == (409, "counter_closed")
    for action in ("pause", "resume"):
        body = {"reason": "x"} if action == "pause" else None
        r = post(api, f"/counters/1/{action}", "ana", json=body)
        assert (r.status_code, r.json()["error"]) == (409, "counter_closed")
    assert isinstance(r.json()["message"], str)


def test_a_held_counter_is_refused_naming_the_holder_or_taken_over(api: Api) -> None:
    post(api, "/counters/2/open", "ana")
    r = post(api, "/counters/2/open", "bia")
    assert (r.status_code, r.json()["error"], r.json()["holder"]) == (409, "counter_held", "ana")
    api.issue("A")
    r = post(api, "/counters/2/call-next", "bia")
    assert (r.status_code, r.json()["error"], r.json()["holder"]) == (409, "counter_held", "ana")
    r = post(api, "/counters/2/pause", "bia", json={"reason": "x"})
    assert (r.status_code, r.json()["error"]) == (409, "counter_held")
    assert counter(api, 2)["holder"] == "ana"
    r = post(api, "/counters/2/open", "bia", json={"takeover": True})
    assert (r.status_code, r.json()["holder"]) == (200, "bia")
    assert post(api, "/counters/2/call-next", "bia").status_code == 200
    r = post(api, "/counters/2/call-next", "ana", params={"close": "completed"})
    assert r.json()["holder"] == "bia"


def test_an_operator_holds_one_counter_at_a_time(api: Api) -> None:
    post(api, "/counters/1/open", "ana")
    post(api, "/counters/2/open", "ana")
    assert (counter(api, 1)["status"], counter(api, 2)["holder"]) == ("closed", "ana")


def test_a_busy_counter_refuses_a_call_without_an_outcome_on_every_path(api: Api) -> None:
    first, second = api.issue("A"), api.issue("A")
    post(api, "/counters/1/open", "ana")
    held = post(api, "/counters/1/call-next", "ana").json()
    assert held["id"] == first["id"]
    assert (held["counter_name"], counter(api, 1)["open_ticket"]["id"]) == ("Guichê 1", held["id"])
    seq = api.queue()["seq"]
    refused = [
        post(api, "/counters/1/call-next", "ana"),
        post(api, f"/tickets/{second['id']}/call", "ana", json={"counter": 1}),
        api.http.patch(
            f"{BASE}/tickets/{second['id']}",
            json={"status": "called", "counter": 1},
            headers=api.auth("ana"),
        ),
    ]
    for r in refused:
        assert (r.status_code, r.json()["error"]) == (409, "counter_busy"), r.text
        assert r.json()["ticket"]["id"] == held["id"]
        assert r.json()["ticket"]["status"] == "called"
    assert api.queue()["seq"] == seq  # nothing changed
    r = post(api, f"/tickets/{second['id']}/call", "ana", json={"counter": 1, "close": "no_show"})
    assert (r.status_code, r.json()["id"]) == (200, second["id"])
    assert api.http.get(f"{BASE}/tickets/{held['id']}").json()["status"] == "no_show"
    # In service: "no-show" does not fit; completed does.
    post(api, f"/tickets/{second['id']}/start", "ana")
    third = api.issue("A")
    r = post(api, "/counters/1/call-next", "ana", params={"close": "no_show"})
    assert (r.status_code, r.json()["error"], r.json()["status"]) == (
        409,
        "illegal_transition",
        "in_service",
    )
    r = post(api, "/counters/1/call-next", "ana", params={"close": "completed"})
    assert r.json()["id"] == third["id"]
    done = api.http.get(f"{BASE}/tickets/{second['id']}").json()
    assert (done["status"], done["end_reason"]) == ("completed", None)


def test_freeing_the_counter_by_hand_lets_it_call_again(api: Api) -> None:
    post(api, "/counters/1/open", "ana")
    for freeing in ("complete", "no-show", "cancel", "transfer"):
        api.issue("A")
        api.issue("A")
        held = post(api, "/counters/1/call-next", "ana").json()
        body = {"service": "P"} if freeing == "transfer" else None
        assert post(api, f"/tickets/{held['id']}/{freeing}", "ana", json=body).status_code == 200
        assert counter(api, 1)["open_ticket"] is None
        assert post(api, "/counters/1/call-next", "ana").status_code == 200, freeing
        post(api, f"/tickets/{counter(api, 1)['open_ticket']['id']}/cancel", "ana")


def test_recall_of_the_own_ticket_is_fine(api: Api) -> None:
    api.issue("A")
    post(api, "/counters/1/open", "ana")
    held = post(api, "/counters/1/call-next", "ana").json()
    assert post(api, f"/tickets/{held['id']}/recall", "ana").json()["status"] == "called"


def test_nothing_waiting_changes_nothing_even_with_an_outcome(api: Api) -> None:
    api.issue("A")
    post(api, "/counters/1/open", "ana")
    held = post(api, "/counters/1/call-next", "ana").json()
    r = post(api, "/counters/1/call-next", "ana", params={"close": "completed"})
    assert r.status_code == 204
    assert api.http.get(f"{BASE}/tickets/{held['id']}").json()["status"] == "called"


def test_counter_services_are_the_default_filter_and_several_may_be_asked(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.patch(f"{BASE}/counters/2", json={"services": ["P"]}, headers=admin)
    assert (r.status_code, r.json()["services"]) == (200, ["P"])
    assert next(c for c in api.queue()["counters"] if c["number"] == 2)["services"] == ["P"]
    r = api.http.patch(f"{BASE}/counters/2", json={"services": ["P", "Q"]}, headers=admin)
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (422, "invalid", "services")
    a, p = api.issue("A"), api.issue("P")
    post(api, "/counters/2/open", "ana")
    assert post(api, "/counters/2/call-next", "ana").json()["id"] == p["id"]
    r = post(api, "/counters/2/call-next", "ana", params={"close": "completed"})
    assert r.status_code == 204  # A waits, but counter 2 serves P only
    r = post(
        api, "/counters/2/call-next", "ana", params={"service": ["A", "P"], "close": "completed"}
    )
    assert r.json()["id"] == a["id"]
    api.http.patch(f"{BASE}/counters/2", json={"services": []}, headers=admin)
    r = api.http.post(
        f"{BASE}/counters", json={"number": 8, "name": "Sala 8", "services": ["Z"]}, headers=admin
    )
    assert (r.status_code, r.json()["error"]) == (422, "invalid")


def test_deleting_a_service_removes_it_from_counters(api: Api) -> None:
    admin = api.auth("admin")
    api.http.post(f"{BASE}/services", json={"prefix": "QQ", "name": "Temp"}, headers=admin)
    api.http.patch(f"{BASE}/counters/3", json={"services": ["A", "QQ"]}, headers=admin)
    assert api.http.delete(f"{BASE}/services/QQ", headers=admin).status_code == 204
    assert counter(api, 3)["services"] == ["A"]
    api.http.patch(f"{BASE}/counters/3", json={"services": []}, headers=admin)


def test_search_tickets_by_number_counter_and_status(api: Api) -> None:
    issued = api.issue("A")
    post(api, "/counters/1/open", "ana")
    called = post(api, "/counters/1/call-next", "ana").json()
    assert called["id"] == issued["id"]
    post(api, f"/tickets/{called['id']}/complete", "ana")
    headers = api.auth("operator")
    found = api.http.get(
        f"{BASE}/tickets", params={"number": issued["number"].lower()}, headers=headers
    ).json()
    assert found[0]["id"] == issued["id"]
    finished = api.http.get(
        f"{BASE}/tickets",
        params={"counter": 1, "status": ["completed", "no_show"], "limit": 3},
        headers=headers,
    ).json()
    assert finished[0]["id"] == issued["id"]  # most recent activity first
    assert len(finished) <= 3
    assert all(t["counter"] == 1 and t["status"] in ("completed", "no_show") for t in finished)
    for params in ({"limit": 0}, {"limit": 101}, {"number": "A-1"}, {"status": "done"}):
        r = api.http.get(f"{BASE}/tickets", params=params, headers=headers)
        assert (r.status_code, r.json()["error"]) == (422, "validation_error"), params
    assert api.http.get(f"{BASE}/tickets").status_code == 401


def test_search_by_number_matches_the_printed_label_after_a_transfer(api: Api) -> None:
    issued = api.issue("A")
    moved = post(api, f"/tickets/{issued['id']}/transfer", json={"service": "P"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["service"], moved.json()["number"]) == ("P", issued["number"])
    headers = api.auth("operator")
    digits = issued["number"][1:]
    for typed in (issued["number"], issued["number"].lower(), "a" + str(int(digits))):
        found = api.http.get(f"{BASE}/tickets", params={"number": typed}, headers=headers)
        assert [t["id"] for t in found.json()] == [issued["id"]], typed
    for typed in ("A0", "Z999"):  # no ticket carries these: nothing, not an error
        found = api.http.get(f"{BASE}/tickets", params={"number": typed}, headers=headers)
        assert (found.status_code, found.json()) == (200, []), typed
    post(api, f"/tickets/{issued['id']}/cancel")


def test_ticket_document_carries_started_at(api: Api) -> None:
    issued = api.issue("A")
    assert issued["started_at"] is None
    post(api, "/counters/1/open", "ana")
    called = post(api, "/counters/1/call-next", "ana").json()
    assert called["id"] == issued["id"]
    assert called["started_at"] is None
    started = post(api, f"/tickets/{called['id']}/start", "ana").json()
    assert started["started_at"] is not None
    assert started["started_at"] >= started["called_at"]
    post(api, f"/tickets/{called['id']}/complete", "ana")


def test_lifecycle_is_the_domain_table(api: Api) -> None:
    r = api.http.get("/api/v1/lifecycle")  # public
    assert r.status_code == 200
    body = r.json()
    assert body["transitions"]["waiting"] == ["call", "cancel", "transfer"]
    assert body["transitions"]["called"] == [
        "cancel", "complete", "no-show", "recall", "start", "transfer",
    ]  # fmt: skip
    assert body["transitions"]["completed"] == []
    assert {s: sorted(map(action_name, row)) for s, row in TRANSITIONS.items()} == body[
        "transitions"
    ]
    assert body["open_statuses"] == ["called", "in_service"]
    assert body["close_outcomes"] == ["completed", "no_show"]


def test_call_timeout_setting(api: Api) -> None:
    admin = api.auth("admin")
    assert api.http.get(BASE, headers=admin).json()["call_timeout_s"] == 900
    r = api.http.patch(BASE, json={"call_timeout_s": 0}, headers=admin)
    assert (r.status_code, r.json()["call_timeout_s"]) == (200, 0)
    for bad in (-1, 86401, "soon"):
        r = api.http.patch(BASE, json={"call_timeout_s": bad}, headers=admin)
        assert (r.status_code, r.json()["error"]) == (422, "validation_error")
    r = api.http.patch(BASE, json={"call_timeout_s": 60}, headers=api.auth("operator"))
    assert r.status_code == 403
    api.http.patch(BASE, json={"call_timeout_s": 900}, headers=admin)


def test_bad_counter_input_is_a_clear_4xx(api: Api) -> None:
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("/counters/1/pause", {"json": {"reason": ""}}, 422),
        ("/counters/1/pause", {"json": {"reason": "x" * 101}}, 422),
        ("/counters/1/pause", {"json": {}}, 422),
        ("/counters/1/open", {"json": {"takeover": "maybe"}}, 422),
        ("/counters/1/call-next", {"params": {"close": "later"}}, 422),
        ("/counters/99/open", {}, 404),
        ("/counters/0/open", {}, 422),
    ]
    seq = api.queue()["seq"]
    for path, kwargs, status in cases:
        r = post(api, path, "ana", **kwargs)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"] in ("validation_error", "not_found")
    waiting = api.issue("A")
    r = post(api, f"/tickets/{waiting['id']}/call", "ana", json={"counter": 1, "close": "x"})
    assert r.status_code == 422
    assert api.queue()["seq"] == seq + 1  # only the issue
    display = api.http.post(
        f"{BASE}/devices",
        json={"id": "counter-display", "role": "display"},
        headers=api.auth("admin"),
    ).json()["token"]
    device = {"Authorization": f"Bearer {display}"}
    assert api.http.get(f"{BASE}/counters", headers=device).status_code == 200
    r = api.http.post(f"{BASE}/counters/1/open", headers=device)
    assert r.status_code == 403


def test_openapi_describes_the_counter_workflow(api: Api) -> None:
    document = api.http.get("/openapi.json").json()
    paths = document["paths"]
    for action in ("open", "pause", "resume", "close"):
        assert "post" in paths[f"/api/v1/tenants/{{tenant}}/counters/{{number}}/{action}"]
    assert "get" in paths["/api/v1/lifecycle"]
    assert "get" in paths["/api/v1/tenants/{tenant}/tickets"]
    call_next = paths["/api/v1/tenants/{tenant}/counters/{counter}/call-next"]["post"]
    assert "close" in {p["name"] for p in call_next["parameters"]}
    assert "counter_busy" in call_next["responses"]["409"]["description"]
    counter_out = document["components"]["schemas"]["CounterOut"]["properties"]
    assert {"status", "holder", "services", "open_ticket"} <= set(counter_out)
