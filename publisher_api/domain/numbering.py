"""Ticket numbers: per service, prefixed and zero-padded (``A001``), reset every local day,
wrapping after 999."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

MAX_NUMBER = 999


def local_day(at: datetime, timezone: str) -> date:
    """The calendar day of ``at`` (aware) in the tenant's time zone: numbering resets at local
    midnight, not UTC midnight."""
    if at.tzinfo is None:
        raise ValueError("local_day needs an aware datetime")
    return at.astimezone(ZoneInfo(timezone)).date()


def next_number(last_number: int, last_day: date | None, today: date) -> int:
    """The number after ``last_number`` issued on ``last_day``: 1 on a new day, 999 -> 1."""
    if last_day != today or last_number >= MAX_NUMBER or last_number < 1:
        return 1
    return last_number + 1


def label(prefix: str, number: int) -> str:
    """What screens show and speak: ``A`` and 7 -> ``A007``."""
    if not 1 <= number <= MAX_NUMBER:
        raise ValueError(f"ticket number {number} outside 1..{MAX_NUMBER}")
    return f"{prefix}{number:03d}"


def printed_label(typed: str) -> str | None:
    """What a person types for a printed number (``a8``, ``A08``, ``A008``) as the label it was
    printed with (``A008``); ``None`` if no ticket can carry it (``A0``, ``A1000``). A ticket
    keeps its label when it is transferred, so searching by label finds it in any service."""
    prefix = typed.rstrip("0123456789")
    digits = typed[len(prefix) :]
    if not prefix or not digits:
        return None
    number = int(digits)
    return label(prefix.upper(), number) if 1 <= number <= MAX_NUMBER else None
