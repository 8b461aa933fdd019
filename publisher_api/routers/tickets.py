"""Tickets: issue (totems, staff), the public queue and ticket documents, and every operator
action — all actions go through ``TicketService.act`` (or ``call_next``).

The write use cases (:func:`run_issue`, :func:`run_call_next`, :func:`run_action`) are plain
functions that return the finished response: the endpoints below call them, and so does the
ticket fast lane (``routers.ticket_lane``), which serves the busiest of these routes without
FastAPI's per-request machinery. The routes here stay the definition (OpenAPI, every error).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response
from sqlalchemy import func

from protocol import QueueUpdate, Ticket, TicketStatus, WaitingPage
from protocol.identifiers import TICKET_ID_PATTERN
from publisher_api.deps import IssuerAccess, OperatorAccess, PublicTenant, RuntimeDep, SessionDep
from publisher_api.domain.counters import CloseOutcome
from publisher_api.domain.lifecycle import CommandKind
from publisher_api.domain.numbering import printed_label
from publisher_api.errors import NotFound
from publisher_api.runtime import Runtime
from publisher_api.schemas import CallIn, Prefix, StatusPatch, TicketIn, TransferIn
from publisher_api.services.tickets import COMMAND_FOR_STATUS, Action
from publisher_api.store import records
from publisher_api.store.models import TicketRow

PREFIX = "/api/v1/tenants/{tenant}"
router = APIRouter(prefix=PREFIX, tags=["tickets"])

COUNTER_RANGE = (1, 999)
IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
TicketIdPath = Annotated[
    str, Path(pattern=TICKET_ID_PATTERN, description="Ticket id (unguessable)")
]
CounterPath = Annotated[int, Path(ge=COUNTER_RANGE[0], le=COUNTER_RANGE[1])]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Retrying with the same key returns the same ticket, never a second one",
    ),
]
TICKET_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"description": "Unknown tenant, ticket, service or counter"},
    409: {
        "description": "Refused, nothing changed. `error` says why: illegal_transition (with "
        "`status`, `command`); for calls also counter_busy (with `ticket`, the ticket the "
        "counter still holds: retry with `close`), counter_closed, counter_paused (with "
        "`reason`), counter_held (with `holder`)"
    },
}
CloseQuery = Annotated[
    CloseOutcome | None,
    Query(
        description="If the counter still holds a ticket, end it so in the same transaction; "
        "without it such a call is refused with counter_busy"
    ),
]


def ticket_response(ticket: Ticket, status_code: int = 200, replayed: bool = False) -> Response:
    """A ticket document as the body, rendered as FastAPI renders a ``Ticket`` response model
    (the same bytes), without its per-request validation of our own document."""
    return Response(
        ticket.model_dump_json(by_alias=True),
        status_code=status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if replayed else None,
    )


async def run_issue(runtime: Runtime, tenant: str, body: TicketIn, key: str | None) -> Response:
    issued = await runtime.write(
        tenant,
        runtime.tickets.issue_op(service=body.service, priority=body.priority, idempotency_key=key),
    )
    return ticket_response(issued.ticket, 201, replayed=issued.replayed)


async def run_call_next(
    runtime: Runtime,
    tenant: str,
    counter: int,
    services: Sequence[str] = (),
    *,
    by: str,
    close: CloseOutcome | None = None,
) -> Response:
    operation = runtime.tickets.call_next_op(counter, services, by=by, close=close)
    ticket = await runtime.write(tenant, operation)
    return ticket_response(ticket) if ticket is not None else Response(status_code=204)


async def run_action(runtime: Runtime, tenant: str, ticket_id: str, action: Action) -> Response:
    return ticket_response(await runtime.write(tenant, runtime.tickets.act_op(ticket_id, action)))


@router.post("/tickets", status_code=201, response_model=Ticket, responses=TICKET_RESPONSES)
async def issue_ticket(
    body: TicketIn,
    scope: IssuerAccess,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await run_issue(runtime, scope.tenant, body, idempotency_key)


@router.get("/queue", response_model=QueueUpdate)
def get_queue(tenant: PublicTenant, runtime: RuntimeDep) -> QueueUpdate:
    """Public: the queue snapshot, exactly the retained MQTT ``queue_update`` document."""
    snapshot = runtime.snapshots.current(tenant)
    if snapshot is None:
        raise NotFound("tenant", tenant)
    return snapshot.update


SEARCH_LIMIT = (1, 100)
PAGE_LIMIT = (1, 200)


@router.get("/waiting", response_model=WaitingPage)
def waiting_page(
    scope: OperatorAccess,
    runtime: RuntimeDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=PAGE_LIMIT[0], le=PAGE_LIMIT[1])] = 50,
    service: Annotated[
        list[Prefix] | None, Query(description="Only these services (default: all)")
    ] = None,
    number: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z]{1,3}[0-9]{1,3}$", description="The printed number, e.g. A023"),
    ] = None,
) -> WaitingPage:
    """Staff: the waiting tickets in call order, one page at a time, with how many match (the
    queue document only carries the next few; the operator console pages through this)."""
    snapshot = runtime.snapshots.current(scope.tenant)
    if snapshot is None:
        raise NotFound("tenant", scope.tenant)
    order, positions = snapshot.ordered()
    label = None if number is None else printed_label(number) or ""
    matching = [
        (row, position)
        for row, position in zip(order, positions, strict=True)
        if (not service or row.service in service) and (label is None or row.label == label)
    ]
    return WaitingPage(
        total=len(matching),
        offset=offset,
        limit=limit,
        tickets=[snapshot.waiting_ticket(r, p) for r, p in matching[offset : offset + limit]],
    )


@router.get("/tickets", response_model=list[Ticket])
def search_tickets(
    scope: OperatorAccess,
    runtime: RuntimeDep,
    session: SessionDep,
    number: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{1,3}[0-9]{1,3}$", description="e.g. A023")
    ] = None,
    counter: Annotated[int | None, Query(ge=COUNTER_RANGE[0], le=COUNTER_RANGE[1])] = None,
    status: Annotated[list[TicketStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=SEARCH_LIMIT[0], le=SEARCH_LIMIT[1])] = 20,
) -> list[Ticket]:
    """Staff: the tenant's tickets, most recent activity first (search by number; a
    counter's last finished tickets with ``counter`` and ``status``)."""
    snapshot = runtime.snapshots.current(scope.tenant)
    if snapshot is None:
        raise NotFound("tenant", scope.tenant)
    query = records.select_tickets().where(TicketRow.tenant_id == scope.tenant)
    if number is not None:
        # The printed label, not the current service: a ticket transferred A -> P is still
        # found by the A008 the customer holds.
        query = query.where(TicketRow.label == (printed_label(number) or ""))
    if counter is not None:
        query = query.where(TicketRow.counter == counter)
    if status:
        query = query.where(TicketRow.status.in_([s.value for s in status]))
    # A requeued ticket's call and end times are cleared, so the first of these that is set
    # is its latest activity.
    activity = func.coalesce(
        TicketRow.ended_at, TicketRow.started_at, TicketRow.called_at, TicketRow.enqueued_at
    )
    rows = session.execute(query.order_by(activity.desc(), TicketRow.id).limit(limit))
    return [snapshot.ticket(records.ticket_of(row)) for row in rows]


@router.get("/tickets/{ticket_id}", response_model=Ticket, responses=TICKET_RESPONSES)
def get_ticket(
    ticket_id: TicketIdPath, tenant: PublicTenant, runtime: RuntimeDep, session: SessionDep
) -> Ticket:
    """Public (ids are unguessable): one ticket with its position and estimated wait."""
    snapshot = runtime.snapshots.current(tenant)
    row = records.load_ticket(session.connection(), ticket_id)
    if row is None or snapshot is None or row.tenant_id != tenant:
        raise NotFound("ticket", ticket_id)
    return snapshot.ticket(row)


@router.post(
    "/counters/{counter}/call-next",
    response_model=Ticket,
    responses={204: {"description": "Nothing is waiting"}, **TICKET_RESPONSES},
)
async def call_next(
    counter: CounterPath,
    scope: OperatorAccess,
    runtime: RuntimeDep,
    service: Annotated[
        list[Prefix] | None,
        Query(description="Only these services (default: those the counter serves)"),
    ] = None,
    close: CloseQuery = None,
) -> Response:
    """Call the next ticket at an open counter held by the caller."""
    return await run_call_next(
        runtime, scope.tenant, counter, service or (), by=scope.principal.subject, close=close
    )


@router.post("/tickets/{ticket_id}/call", response_model=Ticket, responses=TICKET_RESPONSES)
async def call_ticket(
    ticket_id: TicketIdPath, body: CallIn, scope: OperatorAccess, runtime: RuntimeDep
) -> Response:
    """Call this ticket (out of order) to an open counter held by the caller."""
    action = Action(
        CommandKind.CALL, counter=body.counter, by=scope.principal.subject, close=body.close
    )
    return await run_action(runtime, scope.tenant, ticket_id, action)


@router.post("/tickets/{ticket_id}/transfer", response_model=Ticket, responses=TICKET_RESPONSES)
async def transfer_ticket(
    ticket_id: TicketIdPath, body: TransferIn, scope: OperatorAccess, runtime: RuntimeDep
) -> Response:
    """Move the ticket to another service as waiting, at the front or the back."""
    action = Action(CommandKind.TRANSFER, service=body.service, placement=body.placement)
    return await run_action(runtime, scope.tenant, ticket_id, action)


@router.patch("/tickets/{ticket_id}", response_model=Ticket, responses=TICKET_RESPONSES)
async def update_ticket_status(
    ticket_id: TicketIdPath, body: StatusPatch, scope: OperatorAccess, runtime: RuntimeDep
) -> Response:
    """Move the ticket to ``status`` (``called`` needs ``counter``), through the same lifecycle
    rules as the action endpoints."""
    action = Action(
        COMMAND_FOR_STATUS[body.status],
        counter=body.counter,
        by=scope.principal.subject,
        close=body.close,
    )
    return await run_action(runtime, scope.tenant, ticket_id, action)


def _simple_action(kind: CommandKind) -> Callable[..., Awaitable[Response]]:
    async def endpoint(
        ticket_id: TicketIdPath, scope: OperatorAccess, runtime: RuntimeDep
    ) -> Response:
        return await run_action(runtime, scope.tenant, ticket_id, Action(kind))

    endpoint.__name__ = f"{kind.value}_ticket"
    return endpoint


SIMPLE_ACTIONS = {
    "recall": (CommandKind.RECALL, "Call the ticket again (a new call id; screens announce it)."),
    "start": (CommandKind.START, "The customer arrived: service starts."),
    "complete": (CommandKind.COMPLETE, "Service finished (from called or in service)."),
    "no-show": (CommandKind.NO_SHOW, "The called customer did not come."),
    "cancel": (CommandKind.CANCEL, "Cancel a waiting, called or in-service ticket."),
    "reactivate": (CommandKind.REACTIVATE, "A no-show or cancelled ticket waits again."),
}
"""Actions without a body, by the last segment of their path."""
for _path, (_kind, _doc) in SIMPLE_ACTIONS.items():
    router.add_api_route(
        f"/tickets/{{ticket_id}}/{_path}",
        _simple_action(_kind),
        methods=["POST"],
        response_model=Ticket,
        responses=TICKET_RESPONSES,
        summary=f"{_path.replace('-', ' ').capitalize()} ticket",
        description=_doc,
    )
