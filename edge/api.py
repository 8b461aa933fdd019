"""The few REST calls an agent makes, with one error type that says whether to retry.

Blocking (httpx): called from worker threads, never from the main loop.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import replace
from urllib.parse import quote

import httpx

from edge.clock import ServerClock
from edge.credential import DeviceCredential
from protocol import ProtocolError, QueueUpdate, Ticket, decode
from protocol.broker_url import BrokerAddress


class ApiError(Exception):
    """A failed call. ``retryable``: the server was unreachable or failed (5xx), so the same
    request may succeed later; otherwise (4xx) repeating it is pointless. ``str()`` is a
    message fit for a log line or, for 4xx, for the screen."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


MqttEndpoint = BrokerAddress
"""Where the agent's MQTT broker is (the one parser: :mod:`protocol.broker_url`)."""


class _Bearer(httpx.Auth):
    """The credential's token at the moment of each request (it may have been renewed)."""

    def __init__(self, credential: DeviceCredential) -> None:
        self._credential = credential

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._credential.current()}"
        yield request


class ApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        tenant: str,
        credential: DeviceCredential,
        timeout_s: float = 5.0,
        clock: ServerClock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        self._clock = clock
        self._tenant_path = f"/api/v1/tenants/{quote(tenant, safe='')}"
        # The credentials answer mqtt_endpoint() last read and public_url() has not used yet:
        # a totem asks for both at each connection, and one request answers both.
        self._unused_credentials: httpx.Response | None = None
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, auth=_Bearer(credential)
        )

    def close(self) -> None:
        self._http.close()

    def queue(self) -> QueueUpdate:
        """``GET /queue``: exactly the document MQTT carries, through the one decoder."""
        body = self._request("GET", f"{self._tenant_path}/queue").content
        try:
            message = decode(body)
        except ProtocolError as exc:
            raise ApiError(f"unexpected queue document: {exc}", retryable=True) from None
        if not isinstance(message, QueueUpdate) or message.tenant != self.tenant:
            raise ApiError("the API answered with another document", retryable=True)
        return message

    def ticket(self, ticket_id: str) -> Ticket | None:
        """The ticket, or ``None`` when the API does not know it (any more)."""
        try:
            response = self._request("GET", self._ticket_path(ticket_id))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return self._ticket(response)

    def issue_ticket(self, *, service: str, priority: bool, idempotency_key: str) -> Ticket:
        """``POST /tickets``. The same key always yields the same ticket, so a retry after a
        lost answer never makes a second one."""
        response = self._request(
            "POST",
            f"{self._tenant_path}/tickets",
            body={"service": service, "priority": priority},
            headers={"Idempotency-Key": idempotency_key},
        )
        return self._ticket(response)

    def mqtt_endpoint(self) -> MqttEndpoint:
        """Where the broker is and how to log in, from ``GET /mqtt-credentials`` (asked with
        this device's token). ``login: token`` (our brokers): the device logs in with its own
        id and token and the public password in that document is not used. ``login:
        password`` (Mosquitto with dynamic security): the document carries this device's own
        broker login."""
        response = self._request("GET", f"{self._tenant_path}/mqtt-credentials")
        self._unused_credentials = response
        endpoint = MqttEndpoint.from_url(_text_field(response, "mqtt_url", "credentials document"))
        if response.json().get("login") != "password":
            return endpoint
        return replace(
            endpoint,
            username=_text_field(response, "username", "credentials document"),
            password=_text_field(response, "password", "credentials document"),
        )

    def public_url(self) -> object:
        """``public_url`` of ``GET /mqtt-credentials``: the tenant's base URL for phones (for
        QR codes); ``None`` from a server that does not publish it. Taken from the answer
        :meth:`mqtt_endpoint` has just read when there is one, else asked for."""
        response, self._unused_credentials = self._unused_credentials, None
        if response is None:
            response = self._request("GET", f"{self._tenant_path}/mqtt-credentials")
        try:
            document = response.json()
        except ValueError:
            return None
        return document.get("public_url") if isinstance(document, dict) else None

    def renewed_token(self) -> str:
        """``POST /auth/renew``: this device's token again, with a fresh expiry."""
        response = self._request("POST", "/api/v1/auth/renew")
        return _text_field(response, "access_token", "renewal answer")

    def ticket_page_url(self, ticket_id: str) -> str:
        """The phone follower page a QR code opens."""
        return f"{self.base_url}/t/{quote(self.tenant, safe='')}/ticket/{quote(ticket_id, safe='')}"

    def _ticket_path(self, ticket_id: str) -> str:
        return f"{self._tenant_path}/tickets/{quote(ticket_id, safe='')}"

    @staticmethod
    def _ticket(response: httpx.Response) -> Ticket:
        try:
            return Ticket.model_validate_json(response.content)
        except ValueError as exc:
            raise ApiError(f"unexpected ticket document: {exc}", retryable=True) from None

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = self._clock.device_now() if self._clock is not None else None
        try:
            response = self._http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(f"API unreachable: {exc.__class__.__name__}", retryable=True) from None
        if self._clock is not None and sent is not None:
            received = self._clock.device_now()
            self._clock.learn(response.headers.get("date"), sent=sent, received=received)
        if response.is_success:
            return response
        raise ApiError(
            _error_message(response),
            status=response.status_code,
            retryable=response.status_code >= 500 or response.status_code == 429,
        )


def _text_field(response: httpx.Response, key: str, document: str) -> str:
    """``key`` of a JSON object answer, which must be a string; else a retryable error."""
    try:
        value = response.json()[key]
    except (ValueError, KeyError, TypeError):
        value = None
    if not isinstance(value, str):
        raise ApiError(f"{document} without {key}", retryable=True)
    return value


def _error_message(response: httpx.Response) -> str:
    """The API's JSON error message (``message`` or FastAPI's ``detail``), else the status."""
    try:
        body = response.json()
    except json.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return f"HTTP {response.status_code}"
