"""The totem's pure reducer: screens, idempotent issuing, following, calls of its tickets."""

from __future__ import annotations

from datetime import timedelta

from edge.feed import Feed
from edge.inputs import Announce, Follow, SnapshotReceived, Tick, TicketReceived, Unfollow
from protocol import TicketStatus
from tests.agents.factories import T0, call, snapshot, ticket, waiting
from totem_agent.state import (
    BackTapped,
    ChoosingPriority,
    Home,
    IssueFailed,
    IssueTicket,
    Issuing,
    PrintTicket,
    PriorityTapped,
    ServiceTapped,
    ShowingCall,
    ShowingError,
    ShowingTicket,
    TicketIssued,
    TotemState,
    reduce,
)
from totem_agent.view import TicketView, totem_view

NOW = T0 + timedelta(seconds=1)
API = "http://api"


def home() -> TotemState:
    # Already asked for the public URL (test_totem_public_url.py): effects here are the screen's.
    return TotemState(feed=Feed(snapshot=snapshot(1)), asked_public_url=True)


def with_ticket(number: str = "A023") -> TotemState:
    state, _ = reduce(home(), ServiceTapped("A", "k1"), NOW)
    state, _ = reduce(state, TicketIssued("k1", ticket(number)), NOW)
    return state


def test_tapping_a_service_issues_once_however_often_it_is_tapped() -> None:
    state, effects = reduce(home(), ServiceTapped("A", "k1"), NOW)
    assert isinstance(state.screen, Issuing)
    assert effects == [IssueTicket("A", False, "k1")]
    again, effects = reduce(state, ServiceTapped("A", "k2"), NOW)
    assert (again, effects) == (state, [])


def test_priority_services_ask_first() -> None:
    state, effects = reduce(home(), ServiceTapped("P", "k1"), NOW)
    assert state.screen == ChoosingPriority("P")
    assert effects == []
    back, _ = reduce(state, BackTapped(), NOW)
    assert back.screen == Home()
    state, effects = reduce(state, PriorityTapped(True, "k2"), NOW)
    assert effects == [IssueTicket("P", True, "k2")]


def test_unknown_service_or_no_snapshot_does_nothing() -> None:
    assert reduce(home(), ServiceTapped("Z", "k"), NOW)[1] == []
    assert reduce(TotemState(), ServiceTapped("A", "k"), NOW)[1] == []


def test_issued_ticket_is_shown_followed_and_printed() -> None:
    state, _ = reduce(home(), ServiceTapped("A", "k1"), NOW)
    t = ticket("A023")
    state, effects = reduce(state, TicketIssued("k1", t), NOW)
    assert state.screen == ShowingTicket(t.id, NOW + timedelta(seconds=20))
    assert effects == [
        Follow(t.id),
        # The tenant's time zone travels with the job: the paper shows its local time.
        PrintTicket(t, "Atendimento geral", "Clínica São Lucas", "pt-BR", (), "America/Sao_Paulo"),
    ]
    view = totem_view(state, NOW, fallback_title="x", api=API, tenant="default")
    assert isinstance(view.body, TicketView)
    assert view.body.qr_url == f"http://api/t/default/ticket/{t.id}"
    assert view.body.lines == ("Posição na fila: 3", "Espera estimada: ~9 min")


def test_the_printed_ticket_names_the_counters_of_its_service_when_not_all_serve_it() -> None:
    # Counter 4 (the collection room) serves only P; the others serve every service.
    plain = snapshot(1)
    counters = [
        c.model_copy(update={"services": ["P"] if c.number == 4 else []}) for c in plain.counters
    ]
    state = TotemState(feed=Feed(snapshot=plain.model_copy(update={"counters": counters})))
    state, _ = reduce(state, ServiceTapped("A", "k1"), NOW)
    _, effects = reduce(state, TicketIssued("k1", ticket("A023")), NOW)
    printing = next(e for e in effects if isinstance(e, PrintTicket))
    assert printing.places == ("Guichê 1", "Guichê 2", "Guichê 3")
    state, _ = reduce(TotemState(feed=Feed(snapshot=plain)), ServiceTapped("A", "k2"), NOW)
    _, effects = reduce(state, TicketIssued("k2", ticket("A024")), NOW)
    everywhere = next(e for e in effects if isinstance(e, PrintTicket))
    assert everywhere.places == (), "every counter serves A: nothing to say"


def test_answers_for_another_request_are_ignored() -> None:
    state, _ = reduce(home(), ServiceTapped("A", "k1"), NOW)
    assert reduce(state, TicketIssued("other", ticket()), NOW) == (state, [])
    assert reduce(state, IssueFailed("other", True, "x"), NOW) == (state, [])


def test_failure_shows_an_error_then_home() -> None:
    state, _ = reduce(home(), ServiceTapped("A", "k1"), NOW)
    state, _ = reduce(state, IssueFailed("k1", False, "service closed"), NOW)
    assert isinstance(state.screen, ShowingError)
    view = totem_view(state, NOW, fallback_title="x", api=API, tenant="default")
    assert view.body.message == "service closed"  # type: ignore[union-attr]
    state, _ = reduce(state, Tick(), NOW + timedelta(seconds=8))
    assert state.screen == Home()


def test_a_lost_answer_does_not_freeze_the_kiosk() -> None:
    state, _ = reduce(home(), ServiceTapped("A", "k1"), NOW)
    state, _ = reduce(state, Tick(), NOW + timedelta(seconds=25))
    assert isinstance(state.screen, ShowingError)
    assert state.screen.retryable


def test_ticket_screen_times_out_and_unfollows() -> None:
    state = with_ticket()
    same, effects = reduce(state, Tick(), NOW + timedelta(seconds=19))
    assert (same, effects) == (state, [])
    state, effects = reduce(state, Tick(), NOW + timedelta(seconds=20))
    assert state.screen == Home()
    assert effects == [Unfollow("ticket-A023")]


def test_position_follows_the_freshest_source() -> None:
    state = with_ticket()
    state, _ = reduce(state, TicketReceived(ticket(position=5), 10), NOW)
    lines = totem_view(state, NOW, fallback_title="x", api=API, tenant="default").body.lines  # type: ignore[union-attr]
    assert lines[0] == "Posição na fila: 5"
    stale, _ = reduce(state, TicketReceived(ticket(position=9), 9), NOW)
    assert stale is state
    snap = snapshot(11, waiting_tickets=(waiting(23, 1),))
    state, _ = reduce(state, SnapshotReceived(snap, True), NOW)
    lines = totem_view(state, NOW, fallback_title="x", api=API, tenant="default").body.lines  # type: ignore[union-attr]
    assert lines[0] == "Você é o próximo!"
    state, _ = reduce(
        state, TicketReceived(ticket(status=TicketStatus.CALLED, counter=2, position=None), 12), NOW
    )
    lines = totem_view(state, NOW, fallback_title="x", api=API, tenant="default").body.lines  # type: ignore[union-attr]
    assert lines == ("Dirija-se a: Guichê 2",)
    # A named counter reads by its name (the ticket's counter, looked up in the snapshot).
    state, _ = reduce(
        state, TicketReceived(ticket(status=TicketStatus.CALLED, counter=4, position=None), 13), NOW
    )
    lines = totem_view(state, NOW, fallback_title="x", api=API, tenant="default").body.lines  # type: ignore[union-attr]
    assert lines == ("Dirija-se a: Sala de Coleta 4",)


def test_a_call_of_its_ticket_is_shown_and_announced_others_are_not() -> None:
    state = with_ticket("A023")
    others, effects = reduce(state, SnapshotReceived(snapshot(5, [call(7)]), True), NOW)
    assert effects == []
    assert others.screen == state.screen
    mine = call(23, counter=3)
    state, effects = reduce(others, SnapshotReceived(snapshot(6, [mine, call(7)]), True), NOW)
    assert state.screen == ShowingCall(mine, NOW + timedelta(seconds=15))
    assert effects == [
        Unfollow("ticket-A023"),
        Announce(mine.call_id, "A023", 3, "pt-BR", "Guichê 3"),
    ]
    state, _ = reduce(state, BackTapped(), NOW)
    assert state.screen == Home()


def test_a_call_while_a_customer_is_choosing_is_heard_but_does_not_take_the_screen() -> None:
    state = with_ticket("A023")
    state, _ = reduce(state, BackTapped(), NOW)
    state, _ = reduce(state, ServiceTapped("P", "k9"), NOW)
    state, effects = reduce(state, SnapshotReceived(snapshot(6, [call(23)]), True), NOW)
    assert state.screen == ChoosingPriority("P")
    assert [type(e) for e in effects] == [Announce]
