"""The kiosk's QR codes (screen and paper) open the tenant's public URL, which the API publishes
as ``public_url`` in ``GET .../mqtt-credentials`` (issue 14, server side on branch ``kiosk``),
and fall back to ``--api`` until it is known or when the server publishes none: a LAN address is
useless to a phone on mobile data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from edge.feed import Feed
from edge.inputs import LinkDown, LinkUp, SnapshotReceived
from tests.agents.factories import T0, snapshot, ticket
from totem_agent.links import ticket_page_url, usable_public_url
from totem_agent.printer import print_job
from totem_agent.state import (
    LearnPublicUrl,
    PrintTicket,
    PublicUrlLearned,
    ServiceTapped,
    TicketIssued,
    TotemState,
    reduce,
)
from totem_agent.view import TicketView, totem_view

NOW = T0 + timedelta(seconds=5)
LAN = "http://10.0.0.5:8000"
PUBLIC = "https://fila.clinica.example"


def _issue(state: TotemState) -> tuple[TotemState, PrintTicket]:
    state, _ = reduce(state, ServiceTapped("A", "k1"), NOW)
    state, effects = reduce(state, TicketIssued("k1", ticket("A023")), NOW)
    return state, next(e for e in effects if isinstance(e, PrintTicket))


def test_the_kiosk_asks_at_each_connection_and_once_if_polling_answers_first() -> None:
    state = TotemState()
    state, effects = reduce(state, SnapshotReceived(snapshot(1), live=False), NOW)
    assert LearnPublicUrl() in effects
    state, effects = reduce(state, SnapshotReceived(snapshot(2), live=False), NOW)
    assert LearnPublicUrl() not in effects, "asked once, not at every snapshot"
    state, effects = reduce(state, LinkUp(), NOW)
    assert effects == [LearnPublicUrl()]
    state, _ = reduce(state, LinkDown("lost"), NOW)
    _, effects = reduce(state, LinkUp(), NOW)
    assert effects == [LearnPublicUrl()], "it may have changed while we were away"


def test_screen_and_paper_use_the_public_url_once_learnt(tmp_path: Path) -> None:
    state = TotemState(feed=Feed(snapshot=snapshot(1)))
    state, _ = reduce(state, PublicUrlLearned(PUBLIC + "/"), NOW)
    assert state.public_url == PUBLIC
    state, job = _issue(state)
    expected = f"{PUBLIC}/t/default/ticket/ticket-A023"
    view = totem_view(state, NOW, fallback_title="x", api=LAN, tenant="default")
    assert isinstance(view.body, TicketView)
    assert view.body.qr_url == expected
    assert job.public_url == PUBLIC
    url = ticket_page_url(job.public_url, LAN, "default", job.ticket.id)
    assert url == expected
    out = tmp_path / "printer.bin"
    print_job(f"file:{out}", job, url=url)
    assert expected.encode() in out.read_bytes()  # the native QR command carries it


@pytest.mark.parametrize(
    "published", [None, "", "   ", "javascript:alert(1)", "ftp://x.example", "https://", 42]
)
def test_without_a_usable_public_url_the_api_address_is_used(published: object) -> None:
    assert usable_public_url(published) is None
    state = TotemState(feed=Feed(snapshot=snapshot(1)), asked_public_url=True)
    state, _ = reduce(state, PublicUrlLearned(published), NOW)
    assert state.public_url is None
    assert not state.asked_public_url, "asked again at the next connection"
    state, job = _issue(state)
    assert job.public_url is None
    view = totem_view(state, NOW, fallback_title="x", api=LAN + "/", tenant="default")
    assert isinstance(view.body, TicketView)
    assert view.body.qr_url == f"{LAN}/t/default/ticket/ticket-A023"
    assert ticket_page_url(None, LAN, "a b", "x/y") == f"{LAN}/t/a%20b/ticket/x%2Fy"
