"""``GET /api/v1/tenants/{tenant}/stats``: per service, counter and day; JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from publisher_api.deps import OperatorAccess, SessionDep
from publisher_api.errors import Invalid, NotFound
from publisher_api.services import stats
from publisher_api.store.models import TenantRow

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["stats"])

MAX_RANGE = timedelta(days=366)


@router.get("/stats", response_model=stats.Stats)
def get_stats(
    scope: OperatorAccess,  # operators see their own tenant's figures in the console
    session: SessionDep,
    from_: Annotated[
        datetime | None, Query(alias="from", description="Default: 7 days ago")
    ] = None,
    to: Annotated[datetime | None, Query(description="Default: now")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> stats.Stats | Response:
    end = _aware(to, "to") if to else datetime.now(UTC)
    start = _aware(from_, "from") if from_ else end - timedelta(days=7)
    if start >= end:
        raise Invalid("'from' must be before 'to'", field="from")
    if end - start > MAX_RANGE:
        raise Invalid("at most 366 days per report", field="from")
    tenant = session.get(TenantRow, scope.tenant)
    if tenant is None:
        raise NotFound("tenant", scope.tenant)
    report = stats.compute(session, tenant.id, tenant.timezone, start, end)
    if format == "csv":
        return Response(
            stats.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{tenant.id}-stats.csv"'},
        )
    return report


# Dates outside these made day arithmetic overflow (to=0001-01-01T00:00:00 was a 500).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _aware(value: datetime, field: str) -> datetime:
    """A time without a zone is taken as UTC; 422 outside 1970-9000."""
    try:
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        aware = _EARLIEST - timedelta(days=1)
    if not _EARLIEST <= aware < _LATEST:
        raise Invalid(f"'{field}' must be between 1970 and 9000", field=field)
    return aware
