"""The AsyncAPI 2.6 document of our MQTT contract, generated from the same models the code uses,
so the published description can never drift from what is on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from protocol.identifiers import ID_PATTERN, ID_RULE
from protocol.messages import (
    PROTOCOL_VERSION,
    DevicePresence,
    QueueUpdate,
    TicketStatusChanged,
    TicketUpdate,
)
from protocol.server_status import SERVER_STATUS_TOPIC, ServerStatus

_TENANT_PARAM = {
    "description": f"Tenant id ({ID_RULE})",
    "schema": {"type": "string", "pattern": ID_PATTERN},
}


def _message(model: type[BaseModel], summary: str) -> dict[str, Any]:
    name = model.model_fields["type"].default
    return {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
    }


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (QueueUpdate, TicketUpdate, TicketStatusChanged, DevicePresence, ServerStatus):
        schema = model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}", mode="serialization"
        )
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def asyncapi_document(*, servers: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole document. ``servers`` lets the API describe the broker URLs it advertises."""
    retained = {"bindings": {"mqtt": {"qos": 1, "retain": True}}}
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "QueueCast realtime contract",
            "version": str(PROTOCOL_VERSION),
            "description": (
                "MQTT 3.1.1 topics of one tenant. The API is the only publisher of queue state. "
                "Authenticate with any username and a QueueCast token as password (device token, "
                "operator access token, or the short-lived public token from "
                "GET /api/v1/tenants/{tenant}/mqtt-credentials). Every payload carries `type` and "
                "`version`; receivers ignore unknown fields, whole documents of a version they "
                "do not know (queue_update and ticket_update are at version 2, the others at "
                "1), and snapshots whose `seq` is lower than one already applied. Every "
                "document is bounded whatever the queue length: staff read the ordered waiting "
                "list over HTTP (GET /api/v1/tenants/{tenant}/waiting, paged); a phone follows "
                "only its ticket's topic."
            ),
        },
        "servers": servers or {},
        "channels": {
            "tenant/{tenant}/queue": {
                "description": "Retained queue document, version 2, small whatever the queue "
                "length: counts and estimated waits per service, counters and their state, the "
                "last calls, the next tickets (at most 10) and waiting_total (same document as "
                "GET /api/v1/tenants/{tenant}/queue).",
                "parameters": {"tenant": _TENANT_PARAM},
                "subscribe": {
                    "operationId": "receiveQueueUpdate",
                    "message": _message(QueueUpdate, "The tenant's bounded queue document"),
                    **retained,
                },
            },
            "tenant/{tenant}/tickets/{ticketId}": {
                "description": "Retained state of one ticket, version 2 (the ticket carries the "
                "call_id of its latest call, new at every recall); cleared (empty retained "
                "payload) a grace period after the ticket ends. All a phone follows (never the "
                "queue document): position, people ahead, estimated wait, and the call to "
                "announce (counter_name, called_at, call_id). Also published when "
                "a waiting ticket's place moves, coalesced (one pass per tenant a second, at most "
                "200 messages a pass, front first; the first 10 places hear of every move, the "
                "others when they moved by a tenth or their last update is 30 s old).",
                "parameters": {
                    "tenant": _TENANT_PARAM,
                    "ticketId": {"description": "Ticket id", "schema": {"type": "string"}},
                },
                "subscribe": {
                    "operationId": "receiveTicketUpdate",
                    "message": _message(TicketUpdate, "One ticket's current state"),
                    **retained,
                },
            },
            "tenant/{tenant}/events": {
                "description": "Every status change, recall included (not retained).",
                "parameters": {"tenant": _TENANT_PARAM},
                "subscribe": {
                    "operationId": "receiveTicketStatusChanged",
                    "message": _message(TicketStatusChanged, "One ticket changed status"),
                    "bindings": {"mqtt": {"qos": 1, "retain": False}},
                },
            },
            "tenant/{tenant}/devices/{deviceId}/status": {
                "description": "Retained device presence; `offline` is the device's Will.",
                "parameters": {
                    "tenant": _TENANT_PARAM,
                    "deviceId": {
                        "description": f"Device id ({ID_RULE})",
                        "schema": {"type": "string", "pattern": ID_PATTERN},
                    },
                },
                "publish": {
                    "operationId": "announcePresence",
                    "message": _message(DevicePresence, "A device is online or offline"),
                    **retained,
                },
                "subscribe": {
                    "operationId": "receivePresence",
                    "message": _message(DevicePresence, "A device is online or offline"),
                },
            },
            SERVER_STATUS_TOPIC: {
                "description": (
                    "Retained: whether the QueueCast server (the API) is up, with an external "
                    "broker. `offline` is the API connection's Will, so it also appears when the "
                    "API dies. Readable by every role, whatever its tenant (it names none); "
                    "written only by the API."
                ),
                "subscribe": {
                    "operationId": "receiveServerStatus",
                    "message": _message(ServerStatus, "The server is online or offline"),
                    **retained,
                },
            },
        },
        "components": {"schemas": _schemas()},
    }
