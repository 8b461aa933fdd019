"""Whether the QueueCast server (the API, the only publisher of queue state) is up, as screens
learn it over MQTT: "server down" is not the same as "quiet queue".

One retained document on :data:`SERVER_STATUS_TOPIC`, outside every tenant's tree because it
carries nothing of any tenant: the API publishes ``online`` when its connection to the broker is
up and ``offline`` before it disconnects, and sets ``offline`` as that connection's Will, so the
broker announces it when the API dies. Every role may subscribe to that one literal topic (and
nothing near it); only the ``publisher`` role may publish it. Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.messages import PROTOCOL_VERSION

SERVER_STATUS_TOPIC = "queuecast/server/status"
"""Not under ``tenant/``: a tenant may be called anything, even ``server``."""


class ServerState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class ServerStatus(BaseModel):
    """Retained on :data:`SERVER_STATUS_TOPIC`; the ``offline`` one is the API's Will."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: Literal["server_status"] = "server_status"
    version: int = Field(default=PROTOCOL_VERSION, ge=1)
    status: ServerState


def encode_server_status(state: ServerState) -> bytes:
    return ServerStatus(status=state).model_dump_json().encode()


def decode_server_status(payload: bytes | str) -> ServerStatus:
    """Raises ``pydantic.ValidationError`` for anything that is not a server status."""
    return ServerStatus.model_validate_json(payload)
