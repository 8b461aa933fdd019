"""Call timeout and close of day, with a frozen clock, in two time zones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from protocol import CounterStatus, TicketStatus
from publisher_api.domain.counters import CounterState
from publisher_api.domain.expiry import CALL_TIMEOUT, DAY_CLOSED, Expiry, counters_to_close, expired
from publisher_api.domain.lifecycle import CommandKind, TicketState


@dataclass(frozen=True)
class Ticket:
    id: str
    created_at: datetime
    state: TicketState


def T(
    id: str,
    status: str,
    created_at: datetime,
    called_at: datetime | None = None,
    started_at: datetime | None = None,
) -> Ticket:
    state = TicketState(
        TicketStatus(status), "A", 1, created_at, called_at=called_at, started_at=started_at
    )
    return Ticket(id, created_at, state)


# 23:30 local on 1 Dec in each zone, and 00:30 local on 2 Dec (one hour later).
ZONES = {
    "America/Sao_Paulo": datetime(2026, 12, 2, 2, 30, tzinfo=UTC),  # UTC-3
    "Asia/Tokyo": datetime(2026, 12, 1, 14, 30, tzinfo=UTC),  # UTC+9
}


@pytest.mark.parametrize("zone", ZONES)
def test_day_close_happens_at_local_midnight(zone: str) -> None:
    late = ZONES[zone]
    tickets = [
        T("w", "waiting", late - timedelta(hours=2)),
        T("c", "called", late - timedelta(hours=2), called_at=late - timedelta(minutes=1)),
        T("s", "in_service", late - timedelta(hours=2), late, late),
        T("done", "completed", late - timedelta(hours=2)),
    ]
    # Still the same local day: nothing (the call timeout is off here).
    assert expired(tickets, now=late, timezone=zone, call_timeout_s=0) == []
    after_midnight = late + timedelta(hours=1)
    assert expired(tickets, now=after_midnight, timezone=zone, call_timeout_s=0) == [
        Expiry("c", CommandKind.NO_SHOW, DAY_CLOSED),
        Expiry("s", CommandKind.COMPLETE, DAY_CLOSED),
        Expiry("w", CommandKind.CANCEL, DAY_CLOSED),
    ]
    fresh = T("new", "waiting", after_midnight)
    assert expired([fresh], now=after_midnight, timezone=zone, call_timeout_s=0) == []


def test_the_same_instant_is_a_new_day_in_one_zone_only() -> None:
    created = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 09:00 SP, 21:00 Tokyo
    now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 12:30 SP, 00:30 Tokyo next day
    ticket = T("w", "waiting", created)
    assert expired([ticket], now=now, timezone="America/Sao_Paulo", call_timeout_s=0) == []
    assert expired([ticket], now=now, timezone="Asia/Tokyo", call_timeout_s=0) == [
        Expiry("w", CommandKind.CANCEL, DAY_CLOSED)
    ]


@pytest.mark.parametrize("zone", ZONES)
def test_call_timeout(zone: str) -> None:
    now = ZONES[zone]
    created = now - timedelta(hours=1)
    old = T("old", "called", created, called_at=now - timedelta(seconds=900))
    recent = T("recent", "called", created, called_at=now - timedelta(seconds=899))
    started = T(
        "started", "in_service", created, now - timedelta(hours=1), now - timedelta(hours=1)
    )
    tickets = [old, recent, started]
    assert expired(tickets, now=now, timezone=zone, call_timeout_s=900) == [
        Expiry("old", CommandKind.NO_SHOW, CALL_TIMEOUT)
    ]
    assert expired(tickets, now=now, timezone=zone, call_timeout_s=0) == []  # disabled


@pytest.mark.parametrize("zone", ZONES)
def test_counters_left_open_overnight_are_closed(zone: str) -> None:
    late = ZONES[zone]
    counters = [
        (1, CounterState(CounterStatus.OPEN, "ana", None, late)),
        (2, CounterState(CounterStatus.PAUSED, "bia", "lunch", late)),
        (3, CounterState(CounterStatus.CLOSED, None, None, late)),
    ]
    assert counters_to_close(counters, now=late, timezone=zone) == []
    assert counters_to_close(counters, now=late + timedelta(hours=1), timezone=zone) == [1, 2]


def test_expiry_needs_an_aware_clock() -> None:
    ticket = T("w", "waiting", datetime(2026, 12, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        expired([ticket], now=datetime(2026, 12, 2), timezone="Asia/Tokyo", call_timeout_s=0)


def test_ended_tickets_never_expire() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    tickets = [
        T(s.value, s.value, now - timedelta(days=3))
        for s in TicketStatus
        if s.value not in ("waiting", "called", "in_service")
    ]
    assert expired(tickets, now=now, timezone="Asia/Tokyo", call_timeout_s=1) == []
