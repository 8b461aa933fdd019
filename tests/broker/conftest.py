"""Fixtures for the broker suite: a running broker on free ports and clients to talk to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker.harness import BrokerThread, Revocations, broker_settings
from tests.broker.targets import EmbeddedTarget, MosquittoTarget, Target
from tests.support.dynsec import provisioned, requires_dynsec


@pytest.fixture
def broker() -> Iterator[BrokerThread]:
    running = BrokerThread(broker_settings()).start()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def revocations() -> Revocations:
    return Revocations()


@pytest.fixture
def checked_broker(revocations: Revocations) -> Iterator[BrokerThread]:
    """A broker that asks ``revocations`` whether each identity is still active."""
    running = BrokerThread(broker_settings(), token_active=revocations).start()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(
    params=[
        "embedded",
        pytest.param("mosquitto", marks=[pytest.mark.external_broker, requires_dynsec]),
    ]
)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """The isolation matrix's broker: ours, or Mosquitto with dynamic security provisioned from
    the same grants."""
    if request.param == "embedded":
        running = BrokerThread(broker_settings()).start()
        try:
            yield EmbeddedTarget(running)
        finally:
            running.close()
        return
    with provisioned(tmp_path / "mosquitto") as mosquitto:
        yield MosquittoTarget(mosquitto)
