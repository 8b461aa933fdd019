"""Time on an agent: the server's clock (what "recent" means), and the tenant's local time (the
wall clock screens show and the time printed on a ticket)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
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


class ServerClock:
    """The server's clock as well as this device knows it: the device's clock plus the offset
    learnt from the ``Date`` header of every API answer (the browser pages do the same, in
    ``api.js``). Calls are stamped by the server, so "was this call made within the last minute"
    must be asked of the server's clock: a kiosk whose clock is a few minutes off (no NTP yet,
    no real-time clock on a Raspberry Pi) would otherwise stay silent or replay old calls.

    Written by the HTTP threads, read by the main loop: one attribute, replaced whole."""

    def __init__(self, device: Callable[[], datetime] | None = None) -> None:
        self._device = device or (lambda: datetime.now(UTC))
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return self._device() + self._offset

    def device_now(self) -> datetime:
        return self._device()

    def learn(self, date_header: str | None, *, sent: datetime, received: datetime) -> None:
        """Learn from one answer's ``Date`` header, sent between ``sent`` and ``received``
        (device clock). A missing or unreadable header changes nothing."""
        if not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            return
        # The header has whole seconds: +0.5 s centres its error; the midpoint absorbs latency.
        midpoint = sent + (received - sent) / 2
        self._offset = server + timedelta(seconds=0.5) - midpoint
