"""The staff's waiting list over HTTP: with 5,000 tickets waiting the queue document stays small
(counts and the next few) while the console pages through every ticket in call order, filters by
service and finds a printed number; bad paging is a clear 422, and only staff may read it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from protocol import NEXT_UP
from tests.api.conftest import TENANT, Api, api_settings, serve

BASE = f"/api/v1/tenants/{TENANT}"
WAITING = 5000


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = api_settings(tmp_path_factory.mktemp("api"), queue_update_version=2)
    running = serve(settings)
    with httpx.Client(base_url=running.base_url, timeout=60) as http:
        api = Api(settings, http)
        asyncio.run(_fill(running.base_url, api.auth("operator")))
        yield api
    running.stop()


async def _fill(base_url: str, headers: dict[str, str]) -> None:
    """5,000 tickets, 32 requests at a time (group commit makes this quick): every third
    one in the priority service P."""
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:

        async def issue(i: int) -> None:
            body = {"service": "P", "priority": True} if i % 3 == 0 else {"service": "A"}
            key = {"Idempotency-Key": f"fill-{i}"}  # a retry can never issue a second ticket
            for _ in range(3):  # a keep-alive connection the server just closed: retry
                try:
                    r = await http.post(f"{BASE}/tickets", json=body, headers=key)
                except httpx.TransportError:
                    continue
                assert r.status_code in (200, 201), r.text
                return
            raise AssertionError(f"ticket {i} could not be issued")

        for start in range(0, WAITING, 32):
            await asyncio.gather(*(issue(i) for i in range(start, min(start + 32, WAITING))))


def _page(api: Api, **params: Any) -> Any:
    r = api.http.get(f"{BASE}/waiting", params=params, headers=api.auth("operator"))
    assert r.status_code == 200, r.text
    return r.json()


def test_the_queue_document_stays_small_with_5000_waiting(api: Api) -> None:
    r = api.http.get(f"{BASE}/queue")
    document = r.json()
    assert document["version"] == 2
    assert document["waiting_total"] == WAITING
    assert len(document["waiting"]) == NEXT_UP
    assert {s["prefix"]: s["waiting"] for s in document["services"]} == {"A": 3333, "P": 1667}
    assert len(r.content) < 8 * 1024


def test_the_console_pages_through_5000_waiting_in_call_order(api: Api) -> None:
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = _page(api, offset=offset, limit=200)
        assert page["total"] == WAITING
        assert (page["offset"], page["limit"]) == (offset, 200)
        if not page["tickets"]:
            break
        seen.extend(page["tickets"])
        offset += 200
    assert len({t["id"] for t in seen}) == WAITING
    # The first page is the head the queue document shows; each line's places run 1, 2, 3...
    assert [t["id"] for t in seen[:NEXT_UP]] == [t["id"] for t in api.queue()["waiting"]]
    for service in ("A", "P"):
        places = [t["position"] for t in seen if t["service"] == service]
        assert places == list(range(1, len(places) + 1))
    # One ticket's own document agrees with the list.
    middle = seen[WAITING // 2]
    ticket = api.http.get(f"{BASE}/tickets/{middle['id']}").json()
    assert (ticket["position"], ticket["people_ahead"]) == (
        middle["position"],
        middle["position"] - 1,
    )


def test_service_filter_and_number_search(api: Api) -> None:
    only_p = _page(api, service="P", limit=50)
    assert only_p["total"] == 1667
    assert {t["service"] for t in only_p["tickets"]} == {"P"}
    assert [t["position"] for t in only_p["tickets"]] == list(range(1, 51))
    found = _page(api, number="a8")  # numbers wrap after 999: several A008 wait
    assert found["total"] >= 1
    assert {t["number"] for t in found["tickets"]} == {"A008"}
    assert _page(api, number="A0")["total"] == 0


def test_bad_paging_is_a_clear_422_and_the_list_is_for_staff(api: Api) -> None:
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"number": "A-1"}):
        r = api.http.get(f"{BASE}/waiting", params=params, headers=api.auth("operator"))
        assert (r.status_code, r.json()["error"]) == (422, "validation_error"), params
    assert api.http.get(f"{BASE}/waiting").status_code == 401
