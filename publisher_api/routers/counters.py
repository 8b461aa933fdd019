"""Counters at work: their state (GET), and open (or take over), pause, resume, close.

Each command goes through the writer like a ticket write, so it is serialized with the calls it
governs and published (the snapshot's counters show their status). Administration (create,
rename, assign services, delete) stays in :mod:`publisher_api.routers.admin`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path

from publisher_api.deps import OperatorAccess, RuntimeDep, SessionDep, TenantAccess
from publisher_api.domain import counters as cn
from publisher_api.errors import NotFound
from publisher_api.schemas import CounterOpenIn, CounterOut, CounterPauseIn
from publisher_api.services import counters

router = APIRouter(prefix="/api/v1/tenants/{tenant}/counters", tags=["counters"])

CounterPath = Annotated[int, Path(ge=1, le=999)]
RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"description": "Unknown tenant or counter"},
    409: {
        "description": "Refused, nothing changed: counter_held (with `holder`), "
        "counter_closed, counter_paused (with `reason`)"
    },
}


@router.get("", response_model=list[CounterOut])
def list_counters(
    scope: TenantAccess, runtime: RuntimeDep, session: SessionDep
) -> list[CounterOut]:
    """Every counter with its state, holder, services and the ticket it holds."""
    snapshot = runtime.snapshots.current(scope.tenant)
    if snapshot is None:
        raise NotFound("tenant", scope.tenant)
    return counters.list_counters(session, scope.tenant, snapshot)


@router.post("/{number}/open", response_model=CounterOut, responses=RESPONSES)
async def open_counter(
    number: CounterPath,
    scope: OperatorAccess,
    runtime: RuntimeDep,
    body: CounterOpenIn | None = None,
) -> CounterOut:
    """Open the counter for the caller (who then alone calls from it). Held by someone else:
    refused with counter_held, unless ``takeover``. Closes any other counter the caller held."""
    takeover = body.takeover if body is not None else False
    command = cn.Open(by=scope.principal.subject, at=_now(), takeover=takeover)
    return await runtime.write(scope.tenant, counters.command_op(number, command))


@router.post("/{number}/pause", response_model=CounterOut, responses=RESPONSES)
async def pause_counter(
    number: CounterPath, body: CounterPauseIn, scope: OperatorAccess, runtime: RuntimeDep
) -> CounterOut:
    """Pause (with a reason): no calls until resumed. The pause time counts for the holder."""
    command = cn.Pause(by=scope.principal.subject, reason=body.reason, at=_now())
    return await runtime.write(scope.tenant, counters.command_op(number, command))


@router.post("/{number}/resume", response_model=CounterOut, responses=RESPONSES)
async def resume_counter(
    number: CounterPath, scope: OperatorAccess, runtime: RuntimeDep
) -> CounterOut:
    command = cn.Resume(by=scope.principal.subject, at=_now())
    return await runtime.write(scope.tenant, counters.command_op(number, command))


@router.post("/{number}/close", response_model=CounterOut, responses=RESPONSES)
async def close_counter(
    number: CounterPath, scope: OperatorAccess, runtime: RuntimeDep
) -> CounterOut:
    """Close the counter (anyone on staff: it only frees it). A ticket it still holds stays
    as it is (the call timeout or the close of day ends it if nobody does)."""
    command = cn.Close(by=scope.principal.subject, at=_now())
    return await runtime.write(scope.tenant, counters.command_op(number, command))


def _now() -> datetime:
    return datetime.now(UTC)
