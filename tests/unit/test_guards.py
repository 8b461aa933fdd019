"""Pure pieces of the abuse guards (issue 12): the fault log, token buckets, the descriptor
budget and the token version claim."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from config.faultlog import FaultLog, printable
from config.fd_budget import RESERVE, connection_budget
from protocol import Role, issue_token, verify_token
from publisher_api.auth import next_token_version
from publisher_api.login_guard import Buckets

SECRET = "unit-test-secret-0123456789abcdef0123"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_fault_log_writes_once_per_interval_then_sums_up(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    faults = FaultLog(logging.getLogger("test.faults"), 10, clock=clock)
    with caplog.at_level(logging.WARNING):
        assert faults.warning("k", "bad thing from %s", "1.2.3.4")
        for _ in range(99):
            assert not faults.warning("k", "bad thing from %s", "1.2.3.4")
        assert faults.warning("other", "another kind")
        clock.now = 11
        assert faults.warning("k", "bad thing from %s", "1.2.3.4")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "bad thing from 1.2.3.4",
        "another kind",
        "bad thing from 1.2.3.4 (and 99 more like it in the last 11 s)",
    ]


def test_control_characters_never_reach_the_log() -> None:
    assert printable("/web/a\x00\x1b[31m.js") == "/web/a\\x00\\x1b[31m.js"
    assert printable("é ok") == "é ok"
    assert len(printable("x" * 1000)) == 201


def test_buckets_refill_evenly_and_give_back() -> None:
    clock = Clock()
    buckets = Buckets(3, 60, clock=clock)
    assert [buckets.take("ip") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("ip") == pytest.approx(20)
    buckets.give_back("ip")
    assert buckets.take("ip") == 0
    clock.now = 20
    assert buckets.wait_s("ip") == 0
    assert buckets.take("other") == 0


def test_connection_budget_fits_the_open_files_limit() -> None:
    roomy = connection_budget(http_wanted=10_000, mqtt_wanted=20_000, limit=1_048_576)
    assert (roomy.http, roomy.mqtt) == (10_000, 20_000)
    tight = connection_budget(http_wanted=10_000, mqtt_wanted=20_000, mqtt_listeners=2, limit=1024)
    assert tight.http + 2 * tight.mqtt <= 1024 - RESERVE
    assert tight.http > 0
    assert tight.mqtt > 0


def test_token_version_claim_round_trips_and_defaults_to_zero() -> None:
    ttl = timedelta(hours=1)
    token, _ = issue_token(
        secret=SECRET, subject="ana", role=Role.OPERATOR, tenant="t", ttl=ttl, token_version=7
    )
    assert verify_token(token, secret=SECRET).token_version == 7
    old, _ = issue_token(secret=SECRET, subject="ana", role=Role.OPERATOR, tenant="t", ttl=ttl)
    assert verify_token(old, secret=SECRET).token_version == 0


def test_next_token_version_only_grows() -> None:
    created = next_token_version()
    assert next_token_version(created) > created
    assert next_token_version(10**15) == 10**15 + 1
