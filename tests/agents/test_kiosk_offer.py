"""The pygame kiosk offers services as the admin set them up: only active ones, in the
snapshot's order, with their description; an inactive service cannot be tapped."""

from __future__ import annotations

from edge.feed import Feed
from tests.agents.factories import T0, snapshot
from totem_agent.state import Home, ServiceTapped, TotemState, reduce
from totem_agent.view import HomeView, totem_view


def _state() -> TotemState:
    doc = snapshot(1)
    first, second = doc.services[0], doc.services[1]
    services = [
        second.model_copy(update={"description": "Idosos, gestantes"}),
        first.model_copy(update={"active": False}),
        *doc.services[2:],
    ]
    return TotemState(
        feed=Feed(snapshot=doc.model_copy(update={"services": services})), screen=Home()
    )


def test_only_active_services_in_order_with_their_description() -> None:
    state = _state()
    body = totem_view(state, T0, fallback_title="x", api="", tenant="default").body
    assert isinstance(body, HomeView)
    assert state.feed.snapshot is not None
    inactive = state.feed.snapshot.services[1].prefix
    assert inactive not in [b.prefix for b in body.buttons]
    assert body.buttons[0].prefix == state.feed.snapshot.services[0].prefix
    assert body.buttons[0].detail.startswith("Idosos, gestantes")


def test_an_inactive_service_cannot_be_tapped() -> None:
    state = _state()
    assert state.feed.snapshot is not None
    inactive = state.feed.snapshot.services[1].prefix
    after, effects = reduce(state, ServiceTapped(inactive, "k"), T0)
    assert (after, effects) == (state, [])
