"""The kiosk's QR codes (screen and paper) open the tenant's public URL, which the server
publishes in the queue document (``public_url``), and fall back to ``--api`` without one: a
LAN address is useless to a phone on mobile data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from edge.feed import Feed
from protocol import QueueUpdate
from tests.agents.factories import T0, snapshot, ticket
from totem_agent.links import published_url, ticket_page_url
from totem_agent.printer import print_job
from totem_agent.state import PrintTicket, ServiceTapped, TicketIssued, TotemState, reduce
from totem_agent.view import TicketView, totem_view

NOW = T0 + timedelta(seconds=5)
LAN = "http://10.0.0.5:8000"


class _Published(QueueUpdate):
    """The queue document as the server publishes it with issue 14's ``public_url`` (added on
    the server side in another branch; the kiosk reads it by name)."""

    public_url: str | None = None


def _snapshot(public_url: str | None) -> QueueUpdate:
    return _Published(**snapshot(1).model_dump(), public_url=public_url)


def _issue(public_url: str | None) -> tuple[TotemState, PrintTicket]:
    state = TotemState(feed=Feed(snapshot=_snapshot(public_url)))
    state, _ = reduce(state, ServiceTapped("A", "k1"), NOW)
    state, effects = reduce(state, TicketIssued("k1", ticket("A023")), NOW)
    return state, next(e for e in effects if isinstance(e, PrintTicket))


def test_screen_and_paper_use_the_published_public_url(tmp_path: Path) -> None:
    state, job = _issue("https://fila.clinica.example/")
    expected = "https://fila.clinica.example/t/default/ticket/ticket-A023"
    view = totem_view(state, NOW, fallback_title="x", api=LAN, tenant="default")
    assert isinstance(view.body, TicketView)
    assert view.body.qr_url == expected
    assert job.public_url == "https://fila.clinica.example"
    url = ticket_page_url(job.public_url, LAN, "default", job.ticket.id)
    assert url == expected
    out = tmp_path / "printer.bin"
    print_job(f"file:{out}", job, url=url)
    assert expected.encode() in out.read_bytes()  # the native QR command carries it


@pytest.mark.parametrize(
    "published", [None, "", "   ", "javascript:alert(1)", "ftp://x.example", "https://", 42]
)
def test_without_a_usable_public_url_the_api_address_is_used(published: object) -> None:
    doc = snapshot(1).model_copy()
    object.__setattr__(doc, "public_url", published)  # whatever a server might send
    assert published_url(doc) is None
    state = TotemState(feed=Feed(snapshot=doc))
    state, _ = reduce(state, ServiceTapped("A", "k1"), NOW)
    state, _ = reduce(state, TicketIssued("k1", ticket("A023")), NOW)
    view = totem_view(state, NOW, fallback_title="x", api=LAN + "/", tenant="default")
    assert isinstance(view.body, TicketView)
    assert view.body.qr_url == f"{LAN}/t/default/ticket/ticket-A023"


def test_a_server_that_does_not_publish_it_yet_leaves_the_kiosk_on_api() -> None:
    assert published_url(snapshot(1)) is None
    assert published_url(None) is None
    _, job = _issue(None)
    assert job.public_url is None
    assert ticket_page_url(None, LAN, "a b", "x/y") == f"{LAN}/t/a%20b/ticket/x%2Fy"
