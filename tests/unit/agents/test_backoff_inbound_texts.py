"""Small pure pieces: backoff delays, inbound message filtering, texts and speech."""

from __future__ import annotations

import logging

import pytest

from edge.inbound import interpret
from edge.inputs import SnapshotReceived, TicketCleared, TicketReceived
from edge.texts import call_speech, spell_number, texts_for
from mqtt_link.backoff import Backoff
from protocol import TicketUpdate, encode
from protocol.topics import events_topic, queue_topic, ticket_topic
from tests.agents.factories import snapshot, ticket


def test_backoff_spreads_the_first_attempt_then_grows_to_the_cap_and_resets() -> None:
    low = Backoff(initial_s=1, cap_s=8, spread_s=5, rand=lambda: 0.0)
    assert [low.next_delay() for _ in range(7)] == [0, 0.5, 1, 2, 4, 4, 4]
    high = Backoff(initial_s=1, cap_s=8, spread_s=5, rand=lambda: 1.0)
    assert [high.next_delay() for _ in range(6)] == [5, 1, 2, 4, 8, 8]
    high.reset()
    assert high.next_delay() == 5  # a new loss: spread again
    assert [high.next_delay() for _ in range(4)] == [1, 2, 4, 8]
    for _ in range(5000):  # never overflows, however long the outage
        assert high.next_delay() == 8
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial_s=0, cap_s=1)
    with pytest.raises(ValueError, match="spread_s"):
        Backoff(initial_s=1, cap_s=1, spread_s=-1)


def test_the_spread_never_exceeds_the_cap() -> None:
    assert Backoff(initial_s=0.2, cap_s=1, spread_s=5, rand=lambda: 1.0).next_delay() == 1


def test_jitter_spreads_devices_apart_from_the_first_attempt() -> None:
    firsts = {round(Backoff(initial_s=1, cap_s=30).next_delay(), 3) for _ in range(50)}
    assert len(firsts) > 40
    assert all(0 <= d <= 5.0 for d in firsts)
    assert max(firsts) - min(firsts) > 2.5  # spread over the window, not bunched
    seconds = set()
    for _ in range(50):
        backoff = Backoff(initial_s=1, cap_s=30)
        backoff.next_delay()
        seconds.add(round(backoff.next_delay(), 3))
    assert len(seconds) > 40
    assert all(0.5 <= d <= 1.0 for d in seconds)


def test_inbound_accepts_our_documents() -> None:
    doc = snapshot(3)
    assert interpret(queue_topic("default"), encode(doc), tenant="default") == SnapshotReceived(
        doc, live=True
    )
    t = ticket()
    update = TicketUpdate(tenant="default", seq=4, ticket=t)
    assert interpret(ticket_topic("default", t.id), encode(update), tenant="default") == (
        TicketReceived(t, 4)
    )
    assert interpret(ticket_topic("default", t.id), b"", tenant="default") == TicketCleared(t.id)


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("tenant/default/queue", b"not json"),
        ("tenant/default/queue", b'{"type":"queue_update"}'),
        ("tenant/default/queue", encode(snapshot(1, tenant="other"))),  # foreign document
        ("tenant/other/queue", encode(snapshot(1, tenant="other"))),  # foreign topic
        ("tenant/default/events", encode(snapshot(1))),  # wrong type for the topic
        ("tenant/default/tickets/x", encode(snapshot(1))),
        (
            "tenant/default/tickets/x",
            encode(TicketUpdate(tenant="default", seq=1, ticket=ticket())),
        ),
        ("tenant/default/queue", b""),
        ("something/else", b"{}"),
    ],
)
def test_inbound_logs_and_drops_everything_else(
    topic: str, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="edge.inbound"):
        assert interpret(topic, payload, tenant="default") is None
    if payload and topic != events_topic("default"):
        assert caplog.records, "a dropped payload is logged"


def test_texts_by_locale_and_speech() -> None:
    assert texts_for("pt-BR").ticket == "Senha"
    assert texts_for("pt_br").locale == "pt-BR"
    assert texts_for(None, "en-US").locale == "en"
    assert texts_for("es").counter == "Ventanilla"
    assert texts_for("fr", None).locale == "pt-BR"  # unknown: the default, never a crash
    assert texts_for("en", "es").locale == "en"  # the device's setting beats the tenant's
    assert spell_number("A023") == "A, 0 2 3"
    assert spell_number("123") == "1 2 3"
    assert call_speech(texts_for("pt-BR"), "A023", 3) == "Senha A, 0 2 3. Guichê 3."
    assert call_speech(texts_for("en"), "P001", 12) == "Ticket P, 0 0 1. Counter 12."
    assert call_speech(texts_for("es"), "A023", 3) == "Turno A, 0 2 3. Ventanilla 3."
    # A counter with a name is called by it, in every language.
    named = "Sala de Coleta 4"
    assert call_speech(texts_for("pt-BR"), "A023", 4, named) == "Senha A, 0 2 3. Sala de Coleta 4."
    assert call_speech(texts_for("en"), "A023", 4, named) == "Ticket A, 0 2 3. Sala de Coleta 4."
    assert call_speech(texts_for("es"), "A023", 4, named) == "Turno A, 0 2 3. Sala de Coleta 4."
    assert call_speech(texts_for("en"), "A023", 4, "  ") == "Ticket A, 0 2 3. Counter 4."
    # Waits read as the pages read them (the same catalogue keys and rounding).
    assert texts_for("pt-BR").minutes(20) == "menos de 1 min"
    assert texts_for("pt-BR").minutes(90) == "~2 min"
    assert texts_for("es").minutes(3900) == "~1 h 5 min"
    assert texts_for("en").minutes(None) == "—"
