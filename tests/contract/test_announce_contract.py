"""One announcement rule for every screen: the pygame agents (edge/feed.py) and the pages
(publisher_api/web/js/announce.js) give the answers of one shared table of cases,
announce_cases.json. A case changed there changes what both must do."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.feed import FUTURE_TOLERANCE, calls_to_announce
from edge.settings import AgentSettings
from protocol import CallRecord

CASES_FILE = Path(__file__).resolve().parent / "announce_cases.json"
TABLE: dict[str, Any] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
EPOCH = datetime.fromisoformat(TABLE["epoch"])
CASES = {case["name"]: case for case in TABLE["cases"]}


def _record(call: dict[str, Any]) -> CallRecord:
    called_at = (
        datetime.fromisoformat(call["called_at"])
        if "called_at" in call
        else EPOCH + timedelta(seconds=call["at"])
    )
    return CallRecord(
        call_id=call["id"],
        ticket_id=call.get("ticket", f"t-{call['id']}"),
        number="A001",
        service="A",
        counter=1,
        counter_name="",
        called_at=called_at,
    )


def _python(case: dict[str, Any]) -> list[list[str]]:
    seen: tuple[str, ...] = ()
    answers = []
    for step in case["steps"]:
        now = EPOCH + timedelta(seconds=step["now"])
        calls = [_record(call) for call in step["calls"]]
        seen, fresh = calls_to_announce(
            seen, calls, now=now, recent=timedelta(seconds=TABLE["recent_s"])
        )
        answers.append([call.call_id for call in fresh])
    return answers


def _expected(case: dict[str, Any]) -> list[list[str]]:
    return [step["announce"] for step in case["steps"]]


@pytest.mark.parametrize("name", CASES)
def test_python_agents_follow_the_table(name: str) -> None:
    assert _python(CASES[name]) == _expected(CASES[name]), CASES[name]["why"]


@pytest.fixture(scope="module")
def javascript(run_js: Callable[..., Any]) -> Any:
    return run_js("announce", str(CASES_FILE))


@pytest.mark.parametrize("name", CASES)
def test_pages_follow_the_table(javascript: Any, name: str) -> None:
    assert javascript["results"][name] == _expected(CASES[name]), CASES[name]["why"]


def test_both_sides_have_the_tables_window_and_tolerance(javascript: Any) -> None:
    window, tolerance = TABLE["recent_s"], TABLE["future_tolerance_s"]
    assert javascript["defaults"] == {
        "recent_ms": window * 1000,
        "future_tolerance_ms": tolerance * 1000,
    }
    assert timedelta(seconds=tolerance) == FUTURE_TOLERANCE
    assert AgentSettings.model_fields["recent_call_s"].default == window
