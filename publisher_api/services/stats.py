"""Reporting: issued, called, completed, no-show, mean and p90 wait and service time, per
service, per counter and per local day, over tickets created in ``[from, to)``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import TicketStatus
from publisher_api.store.models import TicketRow


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


class Stats(BaseModel):
    tenant: str
    from_: datetime
    to: datetime
    total: Figures
    by_service: list[Figures]
    by_counter: list[Figures]
    by_day: list[Figures]


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def figures(key: str, rows: Iterable[TicketRow]) -> Figures:
    rows = list(rows)
    waits = [(r.called_at - r.created_at).total_seconds() for r in rows if r.called_at]
    services = [
        (r.ended_at - r.started_at).total_seconds()
        for r in rows
        if r.status == TicketStatus.COMPLETED.value and r.started_at and r.ended_at
    ]
    return Figures(
        key=key,
        issued=len(rows),
        called=sum(1 for r in rows if r.called_at is not None),
        completed=sum(1 for r in rows if r.status == TicketStatus.COMPLETED.value),
        no_show=sum(1 for r in rows if r.status == TicketStatus.NO_SHOW.value),
        mean_wait_s=_mean(waits),
        p90_wait_s=p90(waits),
        mean_service_s=_mean(services),
        p90_service_s=p90(services),
    )


def _grouped(rows: list[TicketRow], key: Callable[[TicketRow], str | None]) -> list[Figures]:
    groups: dict[str, list[TicketRow]] = {}
    for row in rows:
        k = key(row)
        if k is not None:
            groups.setdefault(k, []).append(row)
    return [figures(k, groups[k]) for k in sorted(groups)]


def compute(session: Session, tenant: str, timezone: str, start: datetime, end: datetime) -> Stats:
    rows = list(
        session.scalars(
            select(TicketRow).where(
                TicketRow.tenant_id == tenant,
                TicketRow.created_at >= start,
                TicketRow.created_at < end,
            )
        )
    )
    zone = ZoneInfo(timezone)
    return Stats(
        tenant=tenant,
        from_=start,
        to=end,
        total=figures("total", rows),
        by_service=_grouped(rows, lambda r: r.service),
        by_counter=_grouped(rows, lambda r: None if r.counter is None else str(r.counter)),
        by_day=_grouped(rows, lambda r: r.created_at.astimezone(zone).date().isoformat()),
    )


CSV_COLUMNS = ["group", *Figures.model_fields]


def to_csv(stats: Stats) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    sections = [("total", [stats.total]), ("service", stats.by_service)]
    sections += [("counter", stats.by_counter), ("day", stats.by_day)]
    for group, items in sections:
        for item in items:
            writer.writerow([group, *("" if v is None else v for v in item.model_dump().values())])
    return out.getvalue()
