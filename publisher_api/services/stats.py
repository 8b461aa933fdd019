"""Reporting: issued, called, completed, no-show, mean and p90 wait and service time, per
service, per counter and per local day, over tickets created in ``[from, to)``; and per
attendant (who called the tickets): called, completed, no-show, mean service time, and the time
their counters spent paused in ``[from, to)``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocol import TicketStatus
from publisher_api.store.models import CallRow, CounterEventRow, TicketRow

MAX_PAUSE_LOOKBACK = timedelta(days=2)
"""How far before the range a pause still open at its start is looked for."""


def _now() -> datetime:
    return datetime.now(UTC)


class Figures(BaseModel):
    key: str
    issued: int
    called: int
    completed: int
    no_show: int
    mean_wait_s: float | None
    p90_wait_s: float | None
    mean_service_s: float | None
    p90_service_s: float | None
    p50_wait_s: float | None = None


class Attendant(BaseModel):
    username: str
    called: int
    completed: int
    no_show: int
    service_time_avg_s: float | None = Field(
        description="Mean of completed tickets' service time (from start, or from the call when "
        "never started)"
    )
    pause_s: float = Field(description="Seconds their counters were paused inside the range")


class Stats(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    tenant: str
    from_: datetime = Field(alias="from")
    to: datetime
    total: Figures
    by_hour: list[Figures] = Field(default=[], description="By local hour of arrival, 00-23")

    by_service: list[Figures]
    by_counter: list[Figures]
    by_day: list[Figures]
    attendants: list[Attendant] = Field(default_factory=list)


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    return percentile(values, 0.9)


def percentile(values: list[float], rank: float) -> float | None:
    """Nearest-rank percentile (``rank`` in (0, 1])."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank * len(ordered)) - 1)]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


@dataclass(frozen=True, slots=True)
class Record:
    """One ticket as the report sees it. Wait is to the *first* call (a recall or a transfer
    back to waiting does not make the customer's wait look longer or shorter)."""

    service: str
    counter: int | None
    day: str
    hour: str
    status: str
    wait_s: float | None
    service_s: float | None
    served_by: str | None = None


def figures(key: str, records: Iterable[Record]) -> Figures:
    records = list(records)
    waits = [r.wait_s for r in records if r.wait_s is not None]
    services = [r.service_s for r in records if r.service_s is not None]
    return Figures(
        key=key,
        issued=len(records),
        called=len(waits),
        completed=sum(1 for r in records if r.status == TicketStatus.COMPLETED.value),
        no_show=sum(1 for r in records if r.status == TicketStatus.NO_SHOW.value),
        mean_wait_s=_mean(waits),
        p90_wait_s=p90(waits),
        mean_service_s=_mean(services),
        p90_service_s=p90(services),
        p50_wait_s=percentile(waits, 0.5),
    )


def _grouped(records: list[Record], key: Callable[[Record], str | None]) -> list[Figures]:
    groups: dict[str, list[Record]] = {}
    for record in records:
        k = key(record)
        if k is not None:
            groups.setdefault(k, []).append(record)
    return [figures(k, groups[k]) for k in sorted(groups)]


def attendants(records: list[Record], pauses: dict[str, float]) -> list[Attendant]:
    people: dict[str, list[Record]] = {}
    for record in records:
        if record.served_by is not None:
            people.setdefault(record.served_by, []).append(record)
    result = []
    for username in sorted(set(people) | set(pauses)):
        mine = people.get(username, [])
        services = [r.service_s for r in mine if r.service_s is not None]
        result.append(
            Attendant(
                username=username,
                called=len(mine),
                completed=sum(1 for r in mine if r.status == TicketStatus.COMPLETED.value),
                no_show=sum(1 for r in mine if r.status == TicketStatus.NO_SHOW.value),
                service_time_avg_s=_mean(services),
                pause_s=round(pauses.get(username, 0.0), 1),
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class CounterEvent:
    counter: int
    username: str
    kind: str
    at: datetime


def pause_seconds(
    events: Iterable[CounterEvent], start: datetime, end: datetime
) -> dict[str, float]:
    """Per username, the seconds inside ``[start, end)`` their counters were paused: from each
    ``pause`` to the counter's next event (resume, close, open, takeover), or ``end``."""
    by_counter: dict[int, list[CounterEvent]] = {}
    for event in sorted(events, key=lambda e: e.at):
        by_counter.setdefault(event.counter, []).append(event)
    totals: dict[str, float] = {}
    for history in by_counter.values():
        for event, following in zip(history, [*history[1:], None], strict=True):
            if event.kind != "pause":
                continue
            until = following.at if following is not None else end
            begin, finish = max(event.at, start), min(until, end)
            if finish > begin:
                seconds = (finish - begin).total_seconds()
                totals[event.username] = totals.get(event.username, 0.0) + seconds
    return totals


def compute(session: Session, tenant: str, timezone: str, start: datetime, end: datetime) -> Stats:
    first_call = (
        select(CallRow.ticket_id, func.min(CallRow.called_at).label("first_called_at"))
        .where(CallRow.tenant_id == tenant)
        .group_by(CallRow.ticket_id)
        .subquery()
    )
    rows = session.execute(
        select(TicketRow, first_call.c.first_called_at)
        .outerjoin(first_call, first_call.c.ticket_id == TicketRow.id)
        .where(
            TicketRow.tenant_id == tenant,
            TicketRow.created_at >= start,
            TicketRow.created_at < end,
        )
    ).all()
    zone = ZoneInfo(timezone)
    records = [_record(ticket, first_called_at, zone) for ticket, first_called_at in rows]
    # A pause that began before the range still counts inside it: read from the counter's
    # previous event on.
    events = session.execute(
        select(
            CounterEventRow.counter,
            CounterEventRow.username,
            CounterEventRow.kind,
            CounterEventRow.at,
        ).where(
            CounterEventRow.tenant_id == tenant,
            CounterEventRow.at < end,
            CounterEventRow.at >= start - MAX_PAUSE_LOOKBACK,
        )
    ).all()
    pauses = pause_seconds((CounterEvent(*e) for e in events), start, min(end, _now()))
    return Stats(
        tenant=tenant,
        from_=start,
        to=end,
        total=figures("total", records),
        by_hour=_grouped(records, lambda r: r.hour),
        by_service=_grouped(records, lambda r: r.service),
        by_counter=_grouped(records, lambda r: None if r.counter is None else str(r.counter)),
        by_day=_grouped(records, lambda r: r.day),
        attendants=attendants(records, pauses),
    )


def _record(ticket: TicketRow, first_called_at: datetime | None, zone: ZoneInfo) -> Record:
    service_s = None
    began = ticket.started_at or ticket.called_at  # completed straight from called: from the call
    if ticket.status == TicketStatus.COMPLETED.value and began and ticket.ended_at:
        service_s = (ticket.ended_at - began).total_seconds()
    local = ticket.created_at.astimezone(zone)
    return Record(
        service=ticket.service,
        counter=ticket.counter,
        day=local.date().isoformat(),
        hour=f"{local.hour:02d}",
        status=ticket.status,
        wait_s=(first_called_at - ticket.created_at).total_seconds() if first_called_at else None,
        service_s=service_s,
        served_by=ticket.served_by,
    )


CSV_COLUMNS = ["group", *Figures.model_fields, "pause_s"]


def to_csv(stats: Stats) -> str:
    """One table: the figures' rows, then one ``attendant`` row per person (keyed by username,
    their mean service time under ``mean_service_s``, their pause time under ``pause_s``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    sections = [("total", [stats.total]), ("service", stats.by_service)]
    sections += [("hour", stats.by_hour)]
    sections += [("counter", stats.by_counter), ("day", stats.by_day)]
    for group, items in sections:
        for item in items:
            values = ["" if v is None else v for v in item.model_dump().values()]
            writer.writerow([group, *values, ""])
    for person in stats.attendants:
        row: dict[str, object] = {
            "key": person.username,
            "called": person.called,
            "completed": person.completed,
            "no_show": person.no_show,
            "mean_service_s": person.service_time_avg_s,
            "pause_s": person.pause_s,
        }
        writer.writerow(
            ["attendant", *("" if row.get(c) is None else row[c] for c in CSV_COLUMNS[1:])]
        )
    return out.getvalue()
