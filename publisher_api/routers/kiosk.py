"""How a service is offered on kiosks: ``PUT /api/v1/tenants/{tenant}/services/{prefix}/kiosk``
{position, description, active} (admin). Screens get it in the queue snapshot (the services'
order, ``description``, ``active``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field, StringConstraints
from sqlalchemy import select

from publisher_api.deps import AdminAccess, RuntimeDep
from publisher_api.errors import NotFound
from publisher_api.routers.admin import PrefixPath
from publisher_api.schemas import _Body
from publisher_api.services.pairing import utc_now
from publisher_api.store.models import ServiceRow
from publisher_api.store.site_models import ServiceKioskRow

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["administration"])


class KioskIn(_Body):
    position: Annotated[int, Field(ge=0, le=999)] = 0
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = (
        None
    )
    active: bool = True


class KioskOut(KioskIn):
    prefix: str


@router.put("/services/{prefix}/kiosk", response_model=KioskOut)
def set_kiosk(
    prefix: PrefixPath, body: KioskIn, scope: AdminAccess, runtime: RuntimeDep
) -> KioskOut:
    """Order on kiosks (lower first, then prefix), a line of description, and whether kiosks
    offer the service at all (an inactive service still has its waiting tickets called)."""
    with runtime.writer.tenant(scope.tenant, now=utc_now()) as change:
        session = change.session
        exists = session.scalar(
            select(ServiceRow.id).where(
                ServiceRow.tenant_id == scope.tenant, ServiceRow.prefix == prefix
            )
        )
        if exists is None:
            raise NotFound("service", prefix)
        row = session.get(ServiceKioskRow, (scope.tenant, prefix))
        if row is None:
            row = ServiceKioskRow(tenant_id=scope.tenant, prefix=prefix)
            session.add(row)
        row.position, row.description, row.active = (
            body.position,
            body.description or None,
            body.active,
        )
        change.snapshot_changed()
    return KioskOut(prefix=prefix, **body.model_dump())
