"""Tickets over real HTTP: issue, numbering, the queue document, every action, errors."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from protocol import QueueUpdate, Ticket, decode
from tests.api.conftest import TENANT, Api

BASE = f"/api/v1/tenants/{TENANT}"


def test_issue_returns_the_ticket_document(api: Api) -> None:
    ticket = api.issue("A")
    Ticket.model_validate(ticket)
    assert set(ticket) == {
        "id", "number", "service", "priority", "status", "counter", "position",
        "estimated_wait_s", "created_at", "called_at", "counter_name", "people_ahead",
        "end_reason", "started_at", "call_id",
    }  # fmt: skip
    assert ticket["status"] == "waiting"
    assert ticket["people_ahead"] == ticket["position"] - 1
    assert (ticket["counter_name"], ticket["end_reason"]) == (None, None)
    assert ticket["number"].startswith("A")
    assert len(ticket["number"]) == 4
    assert len(ticket["id"]) == 32  # uuid4 hex: unguessable
    assert ticket["position"] >= 1


def test_numbers_follow_each_other_per_service(api: Api) -> None:
    a1, p1, a2 = api.issue("A"), api.issue("P", priority=True), api.issue("A")
    assert int(a2["number"][1:]) == int(a1["number"][1:]) + 1
    assert p1["number"][0] == "P"


def test_queue_is_exactly_a_queue_update_document(api: Api) -> None:
    api.issue("A")
    r = api.http.get(f"{BASE}/queue")
    assert r.status_code == 200
    document = decode(r.content)
    assert isinstance(document, QueueUpdate)
    assert document.tenant == TENANT
    for prefix in ("A", "P"):  # positions count each service's own line
        line = [w.position for w in document.waiting if w.service == prefix]
        assert line == list(range(1, len(line) + 1))
    assert {s.prefix for s in document.services} == {"A", "P"}
    assert [c.number for c in document.counters] == [1, 2, 3]


def test_public_ticket_document_matches_the_issue_response(api: Api) -> None:
    ticket = api.issue("A")
    r = api.http.get(f"{BASE}/tickets/{ticket['id']}")  # no token: public
    assert r.status_code == 200
    assert r.json()["id"] == ticket["id"]
    assert r.json()["number"] == ticket["number"]


def test_full_lifecycle_and_an_illegal_step(api: Api) -> None:
    ticket = api.issue("A")
    r = api.act(ticket["id"], "call", counter=2)
    assert (r.status_code, r.json()["status"], r.json()["counter"]) == (200, "called", 2)
    assert r.json()["counter_name"] == "Guichê 2"
    assert r.json()["called_at"] is not None
    assert api.act(ticket["id"], "start").json()["status"] == "in_service"
    assert api.act(ticket["id"], "complete").json()["status"] == "completed"
    r = api.act(ticket["id"], "start")
    assert r.status_code == 409
    assert r.json()["error"] == "illegal_transition"
    assert r.json()["status"] == "completed"
    assert "message" in r.json()
    assert api.http.get(f"{BASE}/tickets/{ticket['id']}").json()["status"] == "completed"


def test_no_show_cancel_and_reactivate(api: Api) -> None:
    ticket = api.issue("A")
    api.act(ticket["id"], "call", counter=1)
    assert api.act(ticket["id"], "no-show").json()["status"] == "no_show"
    back = api.act(ticket["id"], "reactivate").json()
    assert (back["status"], back["number"]) == ("waiting", ticket["number"])
    assert api.act(ticket["id"], "cancel").json()["status"] == "cancelled"


def test_recall_adds_a_new_call_to_last_calls_newest_first(api: Api) -> None:
    ticket = api.issue("A")
    api.act(ticket["id"], "call", counter=3)
    api.act(ticket["id"], "recall")
    calls = api.queue()["last_calls"]
    mine = [c for c in calls if c["ticket_id"] == ticket["id"]]
    assert len(mine) == 2
    assert mine[0]["call_id"] != mine[1]["call_id"]
    assert mine[0]["called_at"] >= mine[1]["called_at"]
    assert calls[0]["ticket_id"] == ticket["id"]
    assert (mine[0]["counter"], mine[0]["counter_name"]) == (3, "Sala de Coleta 3")


def test_last_calls_keeps_ten(api: Api) -> None:
    ticket = api.issue("A")
    api.act(ticket["id"], "call", counter=1)
    for _ in range(11):
        api.act(ticket["id"], "recall")
    assert len(api.queue()["last_calls"]) == 10


def test_transfer_to_front_and_back(api: Api) -> None:
    drain(api)
    p1, p2, a = api.issue("P"), api.issue("P"), api.issue("A")  # one class: pure FIFO
    front = api.act(a["id"], "transfer", service="P", placement="front").json()
    assert (front["service"], front["status"], front["number"]) == ("P", "waiting", a["number"])
    waiting_p = [w["id"] for w in api.queue()["waiting"] if w["service"] == "P"]
    assert waiting_p == [a["id"], p1["id"], p2["id"]]
    api.act(a["id"], "transfer", service="P", placement="back")
    waiting_p = [w["id"] for w in api.queue()["waiting"] if w["service"] == "P"]
    assert waiting_p == [p1["id"], p2["id"], a["id"]]


def test_call_next_follows_the_queue_and_says_204_when_empty(api: Api) -> None:
    drain(api)
    first, second = api.issue("A"), api.issue("A")
    api.add_user("ana")
    r = api.call_next(1)
    assert (r.status_code, r.json()["id"]) == (200, first["id"])
    r = api.call_next(2, "ana")
    assert (r.status_code, r.json()["id"]) == (200, second["id"])
    r = api.call_next(1)
    assert r.status_code == 204
    assert r.content == b""


def test_call_next_with_a_service_filter(api: Api) -> None:
    drain(api)
    api.issue("A")
    p = api.issue("P", priority=True)
    r = api.call_next(1, service="P")
    assert r.json()["id"] == p["id"]


def test_patch_status_is_the_same_lifecycle(api: Api) -> None:
    ticket = api.issue("A")
    url = f"{BASE}/tickets/{ticket['id']}"
    headers = api.auth("operator")
    r = api.http.patch(url, json={"status": "called"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["field"] == "counter"
    api.open_counter(1)
    body = {"status": "called", "counter": 1, "close": "completed"}
    assert api.http.patch(url, json=body, headers=headers).json()["status"] == "called"
    r = api.http.patch(url, json={"status": "waiting"}, headers=headers)
    assert (r.status_code, r.json()["status"]) == (409, "called")


def test_idempotency_key_returns_the_same_ticket(api: Api) -> None:
    key = uuid.uuid4().hex
    headers = {**api.auth("operator"), "Idempotency-Key": key}
    before = api.queue()["waiting_total"]
    first = api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=headers)
    again = api.http.post(f"{BASE}/tickets", json={"service": "A"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.queue()["waiting_total"] == before + 1
    other = api.http.post(
        f"{BASE}/tickets",
        json={"service": "A"},
        headers={**api.auth("operator"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert other.json()["id"] != first.json()["id"]


def test_bad_input_gets_a_clear_4xx_and_changes_nothing(api: Api) -> None:
    headers = api.auth("operator")
    seq = api.queue()["seq"]
    cases = [
        ({"service": "A", "priority": True}, 422, "priority"),  # A takes no priority tickets
        ({"service": "Z"}, 404, "service Z"),
        ({"service": "a1"}, 422, "service"),
        ({"service": "A", "extra": 1}, 422, "extra"),
        ({}, 422, "service"),
    ]
    for body, status, words in cases:
        r = api.http.post(f"{BASE}/tickets", json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["message"], r.json()
    r = api.http.post(f"{BASE}/tickets", content=b"{not json", headers=headers)
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"
    assert api.queue()["seq"] == seq


def test_unknown_things_are_404_with_a_message(api: Api) -> None:
    headers = api.auth("operator")
    missing = uuid.uuid4().hex
    for method, url in [
        ("GET", f"{BASE}/tickets/{missing}"),
        ("POST", f"{BASE}/tickets/{missing}/start"),
        ("POST", f"{BASE}/counters/99/call-next"),
        ("GET", "/api/v1/tenants/nowhere/queue"),
        ("GET", "/no/such/path"),
    ]:
        r = api.http.request(method, url, headers=headers)
        assert r.status_code == 404, (url, r.text)
        assert r.json()["message"]


def test_seq_grows_with_every_committed_change(api: Api) -> None:
    api.open_counter(1)
    seq = api.queue()["seq"]
    ticket = api.issue("A")
    assert api.queue()["seq"] == seq + 1
    api.act(ticket["id"], "call", counter=1)  # the counter is open already: one change
    assert api.queue()["seq"] == seq + 2
    api.act(ticket["id"], "reactivate")  # illegal: nothing committed
    assert api.queue()["seq"] == seq + 2


def drain(api: Api) -> None:
    """Call every waiting ticket so a test starts from an empty queue."""
    api.open_counter(3)
    while api.call_next(3, open_first=False).status_code == 200:
        pass


def test_concurrent_retries_with_one_idempotency_key_make_one_ticket(api: Api) -> None:
    """Retries racing each other (same batch or not) still make exactly one ticket."""
    key = uuid.uuid4().hex
    headers = {**api.auth("operator"), "Idempotency-Key": key}
    before = api.queue()["waiting_total"]

    def post(_: int) -> str:
        with httpx.Client(base_url=api.http.base_url, timeout=20) as client:
            r = client.post(f"{BASE}/tickets", json={"service": "A"}, headers=headers)
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = set(pool.map(post, range(10)))
    assert len(ids) == 1
    assert api.queue()["waiting_total"] == before + 1
