"""``GET /api/v1/lifecycle``: the ticket transition table, straight from the domain, so clients
enable exactly the actions the API accepts and never keep a copy of the rules."""

from __future__ import annotations

from fastapi import APIRouter

from protocol import TicketStatus
from publisher_api.domain.counters import CloseOutcome
from publisher_api.domain.lifecycle import OPEN_STATUSES, TRANSITIONS, action_name
from publisher_api.schemas import LifecycleOut

router = APIRouter(prefix="/api/v1", tags=["tickets"])


def lifecycle_document() -> LifecycleOut:
    return LifecycleOut(
        transitions={
            status: sorted(action_name(command) for command in TRANSITIONS[status])
            for status in TicketStatus
        },
        open_statuses=[s for s in TicketStatus if s in OPEN_STATUSES],
        close_outcomes=list(CloseOutcome),
    )


@router.get("/lifecycle", response_model=LifecycleOut)
async def get_lifecycle() -> LifecycleOut:
    """Public: per ticket status, the actions allowed (their URL path segments)."""
    return lifecycle_document()
