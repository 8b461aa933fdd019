"""Tenant suspension (superadmin): ``PUT/DELETE /api/v1/tenants/{tenant}/suspension`` and the
list ``GET /api/v1/suspensions``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from publisher_api import site_schemas
from publisher_api.deps import RuntimeDep, SessionDep, SuperAdmin, TenantPath
from publisher_api.services import suspension

router = APIRouter(prefix="/api/v1", tags=["administration"])


@router.get("/suspensions", response_model=list[site_schemas.SuspensionOut])
def list_suspensions(_: SuperAdmin, session: SessionDep) -> list[site_schemas.SuspensionOut]:
    return suspension.list_suspensions(session)


@router.put("/tenants/{tenant}/suspension", response_model=site_schemas.SuspensionOut)
def suspend_tenant(
    tenant: TenantPath, principal: SuperAdmin, runtime: RuntimeDep
) -> site_schemas.SuspensionOut:
    """Refuse the tenant's users and devices (their live MQTT connections are closed) until
    resumed. Idempotent."""
    return suspension.suspend(runtime.writer, tenant, by=principal.subject)


@router.delete("/tenants/{tenant}/suspension", status_code=204, response_class=Response)
def resume_tenant(tenant: TenantPath, _: SuperAdmin, runtime: RuntimeDep) -> Response:
    suspension.resume(runtime.writer, tenant)
    return Response(status_code=204)
