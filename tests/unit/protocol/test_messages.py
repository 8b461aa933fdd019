from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from protocol import (
    NEXT_UP,
    CallRecord,
    DevicePresence,
    PresenceStatus,
    ProtocolError,
    QueueUpdate,
    ServiceQueue,
    Ticket,
    TicketStatus,
    TicketStatusChanged,
    TicketUpdate,
    UnsupportedVersion,
    WaitingPage,
    WaitingTicket,
    decode,
    encode,
)
from protocol.asyncapi import asyncapi_document

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _ticket(status: TicketStatus = TicketStatus.CALLED) -> Ticket:
    return Ticket(
        id="9f1c2e",
        number="A023",
        service="A",
        priority=False,
        status=status,
        counter=3,
        position=None,
        estimated_wait_s=None,
        created_at=NOW,
        called_at=NOW,
    )


def _queue_update() -> QueueUpdate:
    return QueueUpdate(
        tenant="default",
        seq=7,
        generated_at=NOW,
        tenant_name="Clínica",
        locale="pt-BR",
        timezone="America/Sao_Paulo",
        waiting=[
            WaitingTicket(
                id="w1",
                number="A024",
                service="A",
                priority=False,
                position=1,
                estimated_wait_s=120,
                created_at=NOW,
            )
        ],
        services=[
            ServiceQueue(
                prefix="A", name="Geral", priority_allowed=False, waiting=1, estimated_wait_s=240
            )
        ],
        counters=[],
        last_calls=[
            CallRecord(
                call_id="c1",
                ticket_id="9f1c2e",
                number="A023",
                service="A",
                counter=3,
                counter_name="Guichê 3",
                called_at=NOW,
            )
        ],
    )


MESSAGES = [
    _queue_update(),
    TicketUpdate(tenant="default", seq=7, ticket=_ticket()),
    TicketStatusChanged.model_validate(
        {
            "tenant": "default",
            "seq": 7,
            "ticket": _ticket().model_dump(),
            "from": "waiting",
            "to": "called",
            "counter": 3,
            "call_id": "c1",
            "at": NOW,
        }
    ),
    DevicePresence(
        tenant="default", device_id="totem-1", role="totem", status=PresenceStatus.OFFLINE
    ),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.type)
def test_every_message_round_trips_through_the_one_decoder(message: object) -> None:
    assert decode(encode(message)) == message  # type: ignore[arg-type]


def test_status_change_uses_the_wire_names_from_and_to() -> None:
    wire = json.loads(encode(MESSAGES[2]))  # type: ignore[arg-type]
    assert wire["type"] == "ticket_status_changed"
    assert (wire["from"], wire["to"]) == ("waiting", "called")
    assert "from_status" not in wire


def test_every_message_carries_type_and_version() -> None:
    for message in MESSAGES:
        wire = json.loads(encode(message))  # type: ignore[arg-type]
        assert wire["version"] == (2 if wire["type"] in ("queue_update", "ticket_update") else 1)
        assert wire["type"] in {
            "queue_update",
            "ticket_update",
            "ticket_status_changed",
            "device_presence",
        }


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    wire = json.loads(encode(MESSAGES[1]))  # type: ignore[arg-type]
    wire["added_in_a_later_release"] = {"x": 1}
    assert decode(json.dumps(wire)) == MESSAGES[1]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        b'{"type": "something_else"}',
        b'{"type": "ticket_update", "tenant": "default", "seq": 1}',
        b'{"type": "queue_update", "tenant": "a/b", "seq": 1}',
        json.dumps({**json.loads(encode(MESSAGES[1])), "seq": -1}).encode(),  # type: ignore[arg-type]
        json.dumps({**json.loads(encode(MESSAGES[1])), "tenant": "+"}).encode(),  # type: ignore[arg-type]
        b"\xff\xfe garbage",
    ],
)
def test_anything_else_is_a_protocol_error_never_another_exception(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode(payload)


def test_issue_9_fields_are_in_the_contract_and_old_documents_still_decode() -> None:
    schemas = asyncapi_document()["components"]["schemas"]
    assert {"counter_name", "people_ahead", "end_reason"} <= set(schemas["Ticket"]["properties"])
    counter = schemas["CounterInfo"]["properties"]
    assert {"status", "services"} <= set(counter)
    assert "holder" not in counter  # who works where is not published
    # A document from before these fields (a retained message) decodes with their defaults.
    old = json.loads(encode(TicketUpdate(tenant="t", seq=1, ticket=_ticket())))
    for name in ("counter_name", "people_ahead", "end_reason"):
        del old["ticket"][name]
    decoded = decode(json.dumps(old))
    assert isinstance(decoded, TicketUpdate)
    assert (decoded.ticket.counter_name, decoded.ticket.end_reason) == (None, None)


def test_a_document_of_a_version_this_code_does_not_know_is_skipped_cleanly() -> None:
    """A version from a later release is refused as UnsupportedVersion, a ProtocolError every
    receiver already logs and skips; the current ones decode (queue_update 1 too: same fields,
    what the API labels its documents for pages of an earlier release)."""
    current = json.loads(encode(MESSAGES[0]))  # type: ignore[arg-type]
    assert current["type"] == "queue_update"
    for version in (1, 2):
        assert isinstance(decode(json.dumps({**current, "version": version})), QueueUpdate)
    for version in (3, 99):
        with pytest.raises(UnsupportedVersion, match=f"queue_update version {version}"):
            decode(json.dumps({**current, "version": version}))
    ticket = json.loads(encode(TicketUpdate(tenant="t", seq=1, ticket=_ticket())))
    with pytest.raises(ProtocolError):
        decode(json.dumps({**ticket, "version": 3}))


def test_a_ticket_update_carries_its_call_id_and_version_1_is_ignored() -> None:
    """A phone announces the call, and every recall, from its ticket document alone: the call
    id is in it (version 2). A version-1 document, retained from an earlier release, cannot
    tell a recall from the call before it: skipped cleanly, like any unknown version."""
    called = _ticket().model_copy(update={"call_id": "c-2"})
    wire = json.loads(encode(TicketUpdate(tenant="t", seq=1, ticket=called)))
    assert (wire["version"], wire["ticket"]["call_id"]) == (2, "c-2")
    decoded = decode(json.dumps(wire))
    assert isinstance(decoded, TicketUpdate)
    assert decoded.ticket.call_id == "c-2"
    with pytest.raises(UnsupportedVersion, match="ticket_update version 1"):
        decode(json.dumps({**wire, "version": 1}))
    schemas = asyncapi_document()["components"]["schemas"]
    assert "call_id" in schemas["Ticket"]["properties"]
    assert schemas["TicketUpdate"]["properties"]["version"]["default"] == 2


def test_the_queue_document_is_bounded_and_the_staff_page_carries_the_list() -> None:
    schemas = asyncapi_document()["components"]["schemas"]
    assert "waiting_total" in schemas["QueueUpdate"]["properties"]
    page = WaitingPage(total=5000, offset=0, limit=50, tickets=[])
    assert page.model_dump() == {"total": 5000, "offset": 0, "limit": 50, "tickets": []}
    assert NEXT_UP == 10
