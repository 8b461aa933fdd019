"""The ticket fast lane (``publisher_api/routers/ticket_lane.py``) answers exactly as the FastAPI
routes it stands in front of. Every request is sent twice over real HTTP: once as the lane serves
it, and once with a query string the lane does not serve (``via=fastapi``), which it always
leaves to FastAPI (the routes ignore query parameters they do not declare). Call-next's own
``close=completed|no_show`` is the one query string the lane serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends
from fastapi.routing import APIRoute

from publisher_api.app import create_app
from publisher_api.routers import tickets
from publisher_api.routers.ticket_lane import LANE_ROUTES, LaneOutOfStep, check_routes
from publisher_api.routers.tickets import PREFIX
from tests.api.conftest import TENANT, Api, api_settings

BASE = f"/api/v1/tenants/{TENANT}"
VIA_FASTAPI = {"via": "fastapi"}
# Differ between two tickets by nature, not by who answered.
_VOLATILE = {
    "id", "number", "created_at", "called_at", "started_at", "position", "estimated_wait_s",
    "people_ahead", "call_id",
}  # fmt: skip
_TRANSPORT_HEADERS = {"date", "server", "content-length"}


def _shape(response: httpx.Response) -> tuple[int, list[str], str | None, Any]:
    body = response.json() if response.content else None
    if isinstance(body, dict) and "id" in body:
        body = {k: (k in _VOLATILE and v is not None) or v for k, v in body.items()}
    headers = sorted(h for h in response.headers if h not in _TRANSPORT_HEADERS)
    return response.status_code, headers, response.headers.get("content-type"), body


def _twice(api: Api, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, ...]:
    params = kwargs.pop("params", {})
    lane = api.http.request(method, path, params=params, **kwargs)
    fastapi = api.http.request(method, path, params={**params, **VIA_FASTAPI}, **kwargs)
    return lane, fastapi


def _via_fastapi(api: Api, method: str, path: str, **kwargs: Any) -> httpx.Response:
    params = {**kwargs.pop("params", {}), **VIA_FASTAPI}
    return api.http.request(method, path, params=params, **kwargs)


def test_issue_is_answered_alike(api: Api) -> None:
    lane, fastapi = _twice(
        api, "POST", f"{BASE}/tickets", json={"service": "A"}, headers=api.auth("operator")
    )
    assert lane.status_code == 201
    assert _shape(lane) == _shape(fastapi)
    for response in (lane, fastapi):  # the same document the public route serves
        public = api.http.get(f"{BASE}/tickets/{response.json()['id']}")
        assert public.json() == response.json()


def test_an_idempotent_replay_is_answered_alike(api: Api) -> None:
    headers = {**api.auth("operator"), "Idempotency-Key": "lane-replay-1"}
    first = api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=headers)
    lane, fastapi = _twice(api, "POST", f"{BASE}/tickets", json={"service": "A"}, headers=headers)
    assert lane.headers["Idempotent-Replayed"] == fastapi.headers["Idempotent-Replayed"] == "true"
    assert lane.json() == fastapi.json() == first.json()
    assert _shape(lane) == _shape(fastapi)


def test_call_next_and_the_actions_are_answered_alike(api: Api) -> None:
    operator = api.auth("operator")
    api.issue("A")
    api.issue("A")
    api.open_counter(2)
    close = {"close": "completed"}
    steps = (("recall", "called"), ("start", "in_service"), ("complete", "completed"))
    # One ticket at a time at the counter: the lane's all the way, then FastAPI's.
    lane = [api.http.post(f"{BASE}/counters/2/call-next", params=close, headers=operator)]
    lane_id = lane[0].json()["id"]
    lane += [api.http.post(f"{BASE}/tickets/{lane_id}/{a}", headers=operator) for a, _ in steps]
    fastapi = [_via_fastapi(api, "POST", f"{BASE}/counters/2/call-next", headers=operator)]
    fastapi_id = fastapi[0].json()["id"]
    fastapi += [
        _via_fastapi(api, "POST", f"{BASE}/tickets/{fastapi_id}/{a}", headers=operator)
        for a, _ in steps
    ]
    assert [r.json()["status"] for r in lane] == ["called", *(s for _, s in steps)]
    assert [_shape(r) for r in lane] == [_shape(r) for r in fastapi]


def test_the_lane_enforces_the_counter_rules_like_fastapi(api: Api) -> None:
    operator = api.auth("operator")
    api.issue("A")
    api.issue("A")
    api.open_counter(1)
    held = api.call_next(1).json()
    # Busy: refused alike, with the open ticket; nothing called.
    lane, fastapi = _twice(api, "POST", f"{BASE}/counters/1/call-next", headers=operator)
    assert lane.status_code == 409
    assert (lane.json()["error"], lane.json()["ticket"]["id"]) == ("counter_busy", held["id"])
    assert lane.json() == fastapi.json()
    assert api.http.get(f"{BASE}/tickets/{held['id']}").json()["status"] == "called"
    # close=no_show through the lane ends the held ticket in the same write.
    r = api.http.post(f"{BASE}/counters/1/call-next?close=no_show", headers=operator)
    assert (r.status_code, r.json()["status"]) == (200, "called")
    assert api.http.get(f"{BASE}/tickets/{held['id']}").json()["status"] == "no_show"
    # A closed counter, and another operator's counter: refused alike.
    api.http.post(f"{BASE}/counters/1/close", headers=operator)
    lane, fastapi = _twice(api, "POST", f"{BASE}/counters/1/call-next", headers=operator)
    assert (lane.status_code, lane.json()["error"]) == (409, "counter_closed")
    assert lane.json() == fastapi.json()
    api.add_user("lane-other")
    api.open_counter(1, "lane-other")
    lane, fastapi = _twice(
        api, "POST", f"{BASE}/counters/1/call-next", params={"close": "completed"}, headers=operator
    )
    assert (lane.status_code, lane.json()["error"]) == (409, "counter_held")
    assert lane.json()["holder"] == "lane-other"
    assert lane.json() == fastapi.json()


def test_nothing_waiting_is_answered_alike(api: Api) -> None:
    operator = api.auth("operator")
    api.open_counter(3)
    while api.call_next(3, open_first=False).status_code == 200:
        pass
    lane, fastapi = _twice(
        api, "POST", f"{BASE}/counters/3/call-next", params={"close": "completed"}, headers=operator
    )
    assert lane.status_code == 204
    assert (lane.content, sorted(lane.headers)) == (fastapi.content, sorted(fastapi.headers))


def test_refusals_from_the_write_are_answered_alike(api: Api) -> None:
    operator = api.auth("operator")
    waiting = api.issue("A")["id"]
    lane, fastapi = _twice(api, "POST", f"{BASE}/tickets/{waiting}/complete", headers=operator)
    assert lane.status_code == 409
    assert lane.json() == fastapi.json()
    assert lane.json()["status"] == "waiting"
    lane, fastapi = _twice(api, "POST", f"{BASE}/tickets/{'f' * 32}/start", headers=operator)
    assert lane.status_code == 404
    assert (lane.json(), _shape(lane)) == (fastapi.json(), _shape(fastapi))
    lane, fastapi = _twice(
        api, "POST", f"{BASE}/tickets", json={"service": "Z"}, headers=operator
    )  # valid body, unknown service: refused by the write
    assert lane.status_code == 404
    assert lane.json() == fastapi.json()


def test_requests_left_to_fastapi_keep_their_exact_errors(api: Api) -> None:
    operator = api.auth("operator")
    plain_text = {**operator, "Content-Type": "text/plain"}
    bad_key = {**operator, "Idempotency-Key": "a b"}
    device = api.http.post(
        f"{BASE}/devices", json={"id": "lane-display", "role": "display"}, headers=api.auth("admin")
    )
    display = {"Authorization": f"Bearer {device.json()['token']}"}  # may not issue: 403
    issue = {"service": "A"}
    cases: list[tuple[str, dict[str, Any]]] = [
        (f"{BASE}/tickets", {"json": issue}),  # no token
        (f"{BASE}/tickets", {"json": {**issue, "extra": 1}, "headers": operator}),
        (f"{BASE}/tickets", {"content": b"{not json", "headers": operator}),
        (f"{BASE}/tickets", {"content": b'{"service":"A"}', "headers": plain_text}),
        (f"{BASE}/tickets", {"json": issue, "headers": bad_key}),
        (f"{BASE}/tickets", {"json": issue, "headers": display}),
        (f"{BASE}/tickets/{'a' * 32}/start", {"headers": display}),
        ("/api/v1/tenants/ghost/tickets", {"json": issue, "headers": api.auth("root")}),
        ("/api/v1/tenants/Bad!/tickets", {"json": issue, "headers": operator}),
        (f"{BASE}/counters/0/call-next", {"headers": operator}),
        (f"{BASE}/counters/1000/call-next", {"headers": operator}),
        (f"{BASE}/counters/01/call-next", {"headers": {"Authorization": "Basic abc"}}),
        (f"{BASE}/tickets/not*an*id/start", {"headers": operator}),
    ]
    for path, kwargs in cases:
        lane, fastapi = _twice(api, "POST", path, **kwargs)
        assert lane.status_code >= 400, (path, kwargs)
        assert (lane.status_code, lane.json()) == (fastapi.status_code, fastapi.json()), path
    # The body the lane read was handed on: FastAPI's error names the forbidden field.
    extra = api.http.post(f"{BASE}/tickets", json={"service": "A", "extra": 1}, headers=operator)
    assert "extra" in extra.json()["message"]


def test_lane_requests_are_measured_under_their_route_template(api: Api) -> None:
    ticket = api.issue("A")["id"]
    api.http.post(f"{BASE}/tickets/{ticket}/cancel", headers=api.auth("operator"))
    text = api.http.get("/metrics").text
    assert 'route="/api/v1/tenants/{tenant}/tickets/{ticket_id}/cancel",status="200"' in text
    assert ticket not in text


def _lane_count(api: Api, template: str) -> float:
    """The lane's own count of requests it served on ``template`` (from /metrics)."""
    metrics = api.http.get("/metrics").text
    prefix = f'queuecast_ticket_lane_requests_total{{route="{template}"}} '
    line = next((li for li in metrics.splitlines() if li.startswith(prefix)), None)
    return 0.0 if line is None else float(line[len(prefix) :])


def test_the_lane_is_what_served_its_routes(api: Api) -> None:
    """Proof the lane is in use (a lane whose paths never matched used to pass every test):
    its own counter moves for requests on its path and stays put for those it hands on."""
    issue, call_next = f"{PREFIX}/tickets", f"{PREFIX}/counters/{{counter}}/call-next"
    before = _lane_count(api, issue), _lane_count(api, call_next)
    headers = api.auth("operator")
    assert (
        api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=headers).status_code == 201
    )
    assert (_lane_count(api, issue), _lane_count(api, call_next)) == (before[0] + 1, before[1])
    via_fastapi = _via_fastapi(
        api, "POST", f"{BASE}/tickets", json={"service": "A"}, headers=headers
    )
    assert via_fastapi.status_code == 201
    assert _lane_count(api, issue) == before[0] + 1  # FastAPI served that one
    api.open_counter(1)
    called = api.http.post(
        f"{BASE}/counters/1/call-next", params={"close": "completed"}, headers=headers
    )
    assert called.status_code == 200
    assert _lane_count(api, call_next) == before[1] + 1
    action = f"{PREFIX}/tickets/{{ticket_id}}/complete"
    done = _lane_count(api, action)
    assert api.http.post(
        f"{BASE}/tickets/{called.json()['id']}/complete", headers=headers
    ).is_success
    assert _lane_count(api, action) == done + 1


def test_a_lane_route_that_gains_a_dependency_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Add a dependency to one route the lane serves (say, a rate limit) without teaching the
    lane: the app refuses to start, naming the route and the dependency."""

    def rate_limit() -> None:
        return None

    assert len(check_routes(tickets.router.routes)) == len(LANE_ROUTES)
    issue = next(
        r
        for r in tickets.router.routes
        if isinstance(r, APIRoute) and r.path.endswith("/tickets") and "POST" in (r.methods or ())
    )
    guarded = APIRoute(
        issue.path,
        issue.endpoint,
        methods=["POST"],
        response_model=issue.response_model,
        dependencies=[Depends(rate_limit)],
    )
    routes = [guarded if r is issue else r for r in tickets.router.routes]
    monkeypatch.setattr(tickets.router, "routes", routes)
    with pytest.raises(LaneOutOfStep, match=r"POST .*/tickets: declared but not run .*rate_limit"):
        create_app(api_settings(tmp_path))
    assert create_app(api_settings(tmp_path, ticket_lane=False)) is not None  # FastAPI alone
