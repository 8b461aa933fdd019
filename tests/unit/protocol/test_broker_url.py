"""One parser for broker URLs, shared by the agents and the API's external-broker publisher."""

from __future__ import annotations

from typing import get_type_hints

import pytest

from edge import api as agent_api
from protocol.broker_url import BrokerAddress
from publisher_api.publishing.connection import MqttConnection


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker.local", BrokerAddress("broker.local", 1883)),
        ("mqtt://10.0.0.5:1884", BrokerAddress("10.0.0.5", 1884)),
        ("mqtts://broker.example", BrokerAddress("broker.example", 8883, tls=True)),
        ("ssl://broker.example:9999", BrokerAddress("broker.example", 9999, tls=True)),
        ("tcp://localhost", BrokerAddress("localhost", 1883)),
        (
            "mqtts://api%40site:p%3Ass@broker.example",
            BrokerAddress("broker.example", 8883, True, "api@site", "p:ss"),
        ),
    ],
)
def test_broker_urls(url: str, expected: BrokerAddress) -> None:
    assert BrokerAddress.from_url(url) == expected


@pytest.mark.parametrize(
    "url", ["http://broker.local", "mqtt://", "broker.local:1883", "mqtt://host:notaport", ""]
)
def test_what_is_not_a_broker_url_is_refused_clearly(url: str) -> None:
    with pytest.raises(ValueError, match="not an MQTT broker URL"):
        BrokerAddress.from_url(url)


def test_the_agents_and_the_api_use_the_same_parser() -> None:
    assert agent_api.MqttEndpoint is BrokerAddress
    assert get_type_hints(MqttConnection.__init__)["address"] is BrokerAddress
