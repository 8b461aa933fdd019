from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher_api.domain.numbering import MAX_NUMBER, label, local_day, next_number

DAY = date(2026, 11, 29)


def test_first_ticket_of_a_service_is_one() -> None:
    assert next_number(0, None, DAY) == 1


def test_numbers_grow_within_a_day() -> None:
    assert next_number(22, DAY, DAY) == 23


def test_a_new_local_day_starts_again_at_one() -> None:
    assert next_number(57, date(2026, 11, 28), DAY) == 1


def test_wraps_after_999() -> None:
    assert next_number(MAX_NUMBER, DAY, DAY) == 1


def test_reset_happens_at_local_midnight_not_utc() -> None:
    # 02:30 UTC on the 30th is still 23:30 on the 29th in São Paulo (UTC-3).
    at = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
    assert local_day(at, "America/Sao_Paulo") == date(2026, 11, 29)
    assert local_day(at, "UTC") == date(2026, 11, 30)
    at_local_midnight = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert local_day(at_local_midnight, "America/Sao_Paulo") == date(2026, 11, 30)


def test_local_day_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_day(datetime(2026, 11, 30, 2, 30), "UTC")


@pytest.mark.parametrize(("n", "text"), [(1, "A001"), (23, "A023"), (999, "A999")])
def test_label_is_prefix_and_three_digits(n: int, text: str) -> None:
    assert label("A", n) == text


@pytest.mark.parametrize("n", [0, 1000, -1])
def test_label_refuses_numbers_out_of_range(n: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        label("A", n)


@given(st.integers(min_value=0, max_value=2 * MAX_NUMBER))
def test_a_day_of_tickets_always_yields_valid_numbers(count: int) -> None:
    last = 0
    seen: list[int] = []
    for _ in range(count):
        last = next_number(last, DAY if seen else None, DAY)
        seen.append(last)
    assert all(1 <= n <= MAX_NUMBER for n in seen)
    assert seen == [(i % MAX_NUMBER) + 1 for i in range(count)]
