"""The brokers the isolation matrix runs on, behind one interface: a connected client for an
identity. On our embedded broker the identity is a token; on Mosquitto with dynamic security it
is the broker login the provisioner created from the grants (as the API hands it out)."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from protocol import Role
from tests.broker.harness import BrokerThread, token
from tests.support.dynsec import Provisioned
from tests.support.mqtt import Recorder

BrokerKind = Literal["embedded", "mosquitto"]


class Target(Protocol):
    kind: BrokerKind

    def client(
        self,
        role: Role,
        tenant: str | None,
        subject: str | None = None,
        *,
        transport: str = "tcp",
        **kwargs: Any,
    ) -> Recorder:
        """A client (not yet connected) of this identity."""


class EmbeddedTarget:
    kind: BrokerKind = "embedded"

    def __init__(self, broker: BrokerThread) -> None:
        self.broker = broker

    def client(
        self,
        role: Role,
        tenant: str | None,
        subject: str | None = None,
        *,
        transport: str = "tcp",
        **kwargs: Any,
    ) -> Recorder:
        return self.broker.client(token(role, tenant, subject), transport=transport, **kwargs)


class MosquittoTarget:
    kind: BrokerKind = "mosquitto"

    def __init__(self, provisioned: Provisioned) -> None:
        self.provisioned = provisioned

    def client(
        self,
        role: Role,
        tenant: str | None,
        subject: str | None = None,
        *,
        transport: str = "tcp",
        **kwargs: Any,
    ) -> Recorder:
        login = self.provisioned.login(role, tenant, subject)
        return self.provisioned.broker.client(login.username, login.password, transport, **kwargs)
