"""The running system for realtime tests, once per broker kind: our embedded broker, and the
same API publishing to Debian's Mosquitto as an external broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import MOSQUITTO
from tests.support.system import RunningSystem, start_system


@pytest.fixture(
    params=[
        "embedded",
        pytest.param(
            "mosquitto",
            marks=[
                pytest.mark.external_broker,
                pytest.mark.skipif(not MOSQUITTO.exists(), reason="mosquitto not installed"),
            ],
        ),
    ],
    scope="module",
)
def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """Shared by a module's tests (each works on its own tickets): start-up is the slow part."""
    with start_system(tmp_path_factory.mktemp("system"), broker_kind=request.param) as running:
        yield running


@pytest.fixture
def separate_system(tmp_path: Path) -> Iterator[RunningSystem]:
    """Our broker as its own process, so a test can restart it while the API keeps running."""
    with start_system(tmp_path, separate_broker=True) as running:
        yield running
