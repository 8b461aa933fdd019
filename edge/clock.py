"""The wall clock screens show: the tenant's local time, to the minute."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def clock_text(now: datetime, timezone: str | None) -> str:
    """``HH:MM`` in ``timezone`` (the tenant's), else the device's local time. Minutes only:
    the screen then changes once a minute, which is what keeps an idle agent at ~0 % CPU."""
    zone = _zone(timezone) if timezone else None
    local = now.astimezone(zone) if zone is not None else now.astimezone()
    return local.strftime("%H:%M")
