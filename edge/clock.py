"""The tenant's local time: the wall clock screens show and the time printed on a ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def tenant_time(moment: datetime, timezone: str | None) -> datetime:
    """``moment`` in ``timezone`` (the tenant's), else in the device's own zone. A naive
    ``moment`` is UTC: that is how the server stamps every time it sends."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    zone = _zone(timezone) if timezone else None
    return aware.astimezone(zone) if zone is not None else aware.astimezone()


def clock_text(now: datetime, timezone: str | None) -> str:
    """``HH:MM`` in ``timezone`` (the tenant's), else the device's local time. Minutes only:
    the screen then changes once a minute, which is what keeps an idle agent at ~0 % CPU."""
    return tenant_time(now, timezone).strftime("%H:%M")
