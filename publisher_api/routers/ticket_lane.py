"""The ticket fast lane: the busiest routes (issue, call-next and the actions without a body)
served straight from ASGI, in front of FastAPI's routing, dependency solving and validation.

Why: those cost ~250 µs per request, as much as the write they wrap (measured in process with
the write stubbed out: 250-370 µs per request through FastAPI, ~40 µs through this lane).

It changes no behaviour because it only ever does the *same* thing on the *easy* path:

- Every check is the one the routes in :mod:`publisher_api.routers.tickets` make (the same
  patterns, the same body model, the same ``authorize``), and the write and the response come
  from the same functions the endpoints call (``run_issue``, ``run_call_next``, ``run_action``).
- Anything that would not reach the write — a missing or bad token, another tenant, a body that
  does not validate, a query string other than call-next's plain ``close=completed|no_show``,
  an unusual content type — is handed to FastAPI untouched
  (the body it read is replayed), so every error keeps its exact FastAPI form.
- A refusal from the write itself (404 ticket, 409 transition, ...) is rendered by
  ``http_errors.refusal_response``, which the FastAPI exception handlers use too.

Requests it serves carry the matching route in ``scope["route"]``, so HTTP metrics label them
exactly as FastAPI-served ones, and count in ``queuecast_ticket_lane_requests`` (what proves, in
tests and in production, that the lane served them).

It cannot fall out of step silently: :func:`check_routes` (run by ``create_app`` whenever the
lane is on) compares every route the lane serves, as FastAPI declares it, with what the lane
does — the parameters it reads, the dependencies it runs and the roles it admits — and refuses
to start on any difference (a new dependency on one of these routes must be added here too, or
the route taken out of the lane).

Does it still pay? ``bench.http_api --clients 16`` with and without it (``--no-lane``), same
run: the lane saves ~0.1 ms of server CPU per request (0.38 against 0.48 ms/op, 2026-12-01, see
docs/benchmarks.md), about a fifth of the server's work at that load, so it stays.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol import Role
from protocol.identifiers import ID_PATTERN, TICKET_ID_PATTERN
from publisher_api.deps import ISSUER_ROLES, STAFF_ROLES, TenantScope, authorize
from publisher_api.domain.counters import CloseOutcome
from publisher_api.domain.lifecycle import IllegalTransition
from publisher_api.errors import ApiError
from publisher_api.http_errors import refusal_response
from publisher_api.lifespan_state import running
from publisher_api.routers import tickets
from publisher_api.routers.tickets import (
    COUNTER_RANGE,
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_PATTERN,
    PREFIX,
    SIMPLE_ACTIONS,
    run_action,
    run_call_next,
    run_issue,
)
from publisher_api.runtime import Runtime
from publisher_api.schemas import TicketIn
from publisher_api.services.tickets import Action

_TENANT = re.compile(ID_PATTERN)
_TICKET_ID = re.compile(TICKET_ID_PATTERN)
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_COUNTER = re.compile(r"[1-9][0-9]*")  # canonical digits only; FastAPI judges anything else
_BASE = PREFIX.replace("{tenant}", "(?P<tenant>[^/]+)")
_PATHS = re.compile(
    rf"{_BASE}/(?:(?P<issue>tickets)"
    rf"|counters/(?P<counter>[^/]+)/call-next"
    rf"|tickets/(?P<ticket>[^/]+)/(?P<action>{'|'.join(map(re.escape, SIMPLE_ACTIONS))}))"
)
_AUTHORIZATION = b"authorization"
_CONTENT_TYPE = b"content-type"
_KEY_HEADER = IDEMPOTENCY_KEY.lower().encode()
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})

# The only query strings the lane serves (call-next's close outcome, as browsers encode it).
_CLOSE_QUERIES = {f"close={o.value}".encode(): o for o in CloseOutcome}

Handler = Callable[[Runtime, TenantScope], Awaitable[Response]]

_AUTH = ("depends:OAuth2PasswordBearer", "depends:get_runtime", "depends:tenant_scope")
LANE_ROUTES: dict[str, frozenset[str]] = {
    f"{PREFIX}/tickets": frozenset(
        {"path:tenant", "header:Idempotency-Key", "body:body", *_AUTH, f"roles:{ISSUER_ROLES}"}
    ),
    # ``service`` is never served here: a request carrying it goes to FastAPI.
    f"{PREFIX}/counters/{{counter}}/call-next": frozenset(
        {"path:tenant", "path:counter", "query:close", "query:service", *_AUTH}
        | {f"roles:{STAFF_ROLES}"}
    ),
    **{
        f"{PREFIX}/tickets/{{ticket_id}}/{action}": frozenset(
            {"path:tenant", "path:ticket_id", *_AUTH, f"roles:{STAFF_ROLES}"}
        )
        for action in SIMPLE_ACTIONS
    },
}
"""Each route the lane serves, and everything it does for it (parameters read, dependencies
run, roles admitted): what :func:`check_routes` holds FastAPI's declaration to."""


class LaneOutOfStep(RuntimeError):
    """A route the lane serves is declared differently from what the lane does."""


def check_routes(routes: Iterable[BaseRoute]) -> dict[str, APIRoute]:
    """The lane's routes (by path template), refusing any that FastAPI declares differently
    from :data:`LANE_ROUTES`, or is missing."""
    found = {
        route.path: route
        for route in routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    }
    problems = []
    for template, expected in LANE_ROUTES.items():
        route = found.get(template)
        if route is None:
            problems.append(f"POST {template}: no such route")
            continue
        declared = route_signature(route.dependant)
        if declared != expected:
            problems.append(
                f"POST {template}: declared but not run by the lane {sorted(declared - expected)}"
                f", run by the lane but not declared {sorted(expected - declared)}"
            )
    if problems:
        raise LaneOutOfStep(
            "the ticket fast lane does not do what these routes declare; update "
            "publisher_api/routers/ticket_lane.py (or take the route out of it): "
            + "; ".join(problems)
        )
    return {template: found[template] for template in LANE_ROUTES}


def route_signature(dependant: Dependant) -> frozenset[str]:
    """What handling a route involves, as FastAPI declares it: parameters by kind and name,
    every dependency (recursively) by name, and the roles a ``tenant_scope`` admits."""
    out: set[str] = set()
    for kind, params in (
        ("path", dependant.path_params),
        ("query", dependant.query_params),
        ("header", dependant.header_params),
        ("cookie", dependant.cookie_params),
        ("body", dependant.body_params),
    ):
        out.update(f"{kind}:{p.alias if kind == 'header' else p.name}" for p in params)
    for sub in dependant.dependencies:
        call = sub.call
        name = getattr(call, "__qualname__", type(call).__qualname__)
        if name.endswith(".<locals>.dependency"):
            name = name.split(".")[0]
            roles = inspect.getclosurevars(call).nonlocals.get("allowed")  # type: ignore[arg-type]
            out.add(f"roles:{roles}")
        out.add(f"depends:{name}")
        out |= route_signature(sub)
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A request the lane will serve: its route (for metrics) and the write to run."""

    template: str
    roles: frozenset[Role]
    run: Handler


class TicketLane:
    """ASGI middleware; install it inside the HTTP metrics middleware. ``served`` counts the
    requests it served, by route template."""

    def __init__(self, app: ASGIApp, served: Callable[[str], None] | None = None) -> None:
        self.app = app
        # The routes FastAPI puts in scope["route"] for these paths (our router's own objects).
        self._routes = check_routes(tickets.router.routes)
        self._served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        match = _PATHS.fullmatch(scope["path"])
        runtime = running(scope["app"])
        query = scope.get("query_string", b"")
        close = _CLOSE_QUERIES.get(query) if query else None
        if match is None or runtime is None or (query and (close is None or not match["counter"])):
            await self.app(scope, receive, send)
            return
        headers = _first_headers(scope["headers"])
        body: list[Message] = []
        if match["issue"]:
            body = await _read_body(receive)
            plan = _issue_plan(headers, body)
        elif match["counter"] is not None:
            plan = _call_next_plan(match["counter"], close)
        else:
            plan = _action_plan(match["ticket"], match["action"])
        tenant = match["tenant"]
        scheme, token = get_authorization_scheme_param(_text(headers.get(_AUTHORIZATION)))
        if plan is None or not _TENANT.fullmatch(tenant) or scheme.lower() != "bearer":
            await self.app(scope, _replaying(body, receive), send)
            return
        try:
            access = authorize(tenant, token, runtime, plan.roles)
        except ApiError:
            await self.app(scope, _replaying(body, receive), send)
            return
        scope["route"] = self._routes[plan.template]
        if self._served is not None:
            self._served(plan.template)
        try:
            response = await plan.run(runtime, access)
        except (ApiError, IllegalTransition) as refusal:
            response = refusal_response(refusal)
        await response(scope, receive, send)


def _issue_plan(headers: dict[bytes, bytes], body: list[Message]) -> _Plan | None:
    if _text(headers.get(_CONTENT_TYPE)).lower() not in _JSON_TYPES:
        return None
    key = headers.get(_KEY_HEADER)
    idempotency_key = None if key is None else key.decode("latin-1")
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        return None
    try:
        ticket = TicketIn.model_validate(json.loads(b"".join(m.get("body", b"") for m in body)))
    except Exception:  # not JSON, not a valid body, too deep...: FastAPI says which, as usual
        return None

    async def run(runtime: Runtime, access: TenantScope) -> Response:
        return await run_issue(runtime, access.tenant, ticket, idempotency_key)

    return _Plan(f"{PREFIX}/tickets", ISSUER_ROLES, run)


def _call_next_plan(counter_text: str, close: CloseOutcome | None) -> _Plan | None:
    if not _COUNTER.fullmatch(counter_text):
        return None
    counter = int(counter_text)
    if not COUNTER_RANGE[0] <= counter <= COUNTER_RANGE[1]:
        return None

    async def run(runtime: Runtime, access: TenantScope) -> Response:
        return await run_call_next(
            runtime, access.tenant, counter, by=access.principal.subject, close=close
        )

    return _Plan(f"{PREFIX}/counters/{{counter}}/call-next", STAFF_ROLES, run)


def _action_plan(ticket_id: str, path: str) -> _Plan | None:
    if not _TICKET_ID.fullmatch(ticket_id):
        return None
    action = Action(SIMPLE_ACTIONS[path][0])

    async def run(runtime: Runtime, access: TenantScope) -> Response:
        return await run_action(runtime, access.tenant, ticket_id, action)

    return _Plan(f"{PREFIX}/tickets/{{ticket_id}}/{path}", STAFF_ROLES, run)


def _first_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Header name -> its first value, as Starlette's ``headers.get`` reads them."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        found.setdefault(name.lower(), value)
    return found


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("latin-1")


async def _read_body(receive: Receive) -> list[Message]:
    """Every message up to the end of the body (kept, to replay if FastAPI takes over)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    if not messages:
        return receive
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
