from __future__ import annotations

import pytest

from publisher_api.domain.estimates import WaitModel


def test_no_history_means_no_estimate() -> None:
    assert WaitModel.from_history([], open_counters=3).wait_s(1) is None


def test_wait_grows_with_position_and_shrinks_with_counters() -> None:
    one = WaitModel.from_history([100.0, 200.0], open_counters=1)
    three = WaitModel.from_history([100.0, 200.0], open_counters=3)
    assert one.wait_s(1) == 150
    assert one.wait_s(4) == 600
    assert three.wait_s(3) == 150


def test_zero_open_counters_counts_as_one() -> None:
    assert WaitModel.from_history([60.0], open_counters=0).wait_s(2) == 120


def test_negative_samples_from_clock_skew_are_ignored() -> None:
    assert WaitModel.from_history([-5.0, 60.0], open_counters=1).mean_service_s == 60.0


def test_position_is_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        WaitModel.from_history([60.0], open_counters=1).wait_s(0)
