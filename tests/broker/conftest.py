"""Fixtures for the broker suite: a running broker on free ports and clients to talk to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.broker.harness import BrokerThread, broker_settings


@pytest.fixture
def broker() -> Iterator[BrokerThread]:
    running = BrokerThread(broker_settings()).start()
    try:
        yield running
    finally:
        running.close()
