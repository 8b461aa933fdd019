"""Suspending a tenant (superadmin): its users and devices are refused (HTTP and MQTT, live
connections closed at once, like a revocation) until it is resumed; nothing is deleted."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher_api import site_schemas
from publisher_api.services.changes import Writer
from publisher_api.services.pairing import utc_now
from publisher_api.store.site_models import TenantSuspensionRow


def _out(row: TenantSuspensionRow) -> site_schemas.SuspensionOut:
    return site_schemas.SuspensionOut(
        tenant=row.tenant_id, suspended_by=row.suspended_by, suspended_at=row.suspended_at
    )


def suspend(writer: Writer, tenant: str, *, by: str) -> site_schemas.SuspensionOut:
    with writer.tenant(tenant, now=utc_now()) as change:
        row = change.session.get(TenantSuspensionRow, tenant)
        if row is None:
            row = TenantSuspensionRow(tenant_id=tenant, suspended_by=by, suspended_at=change.now)
            change.session.add(row)
            change.directory_changed()  # every token of the tenant stops at once
    return _out(row)


def resume(writer: Writer, tenant: str) -> None:
    with writer.tenant(tenant, now=utc_now()) as change:
        row = change.session.get(TenantSuspensionRow, tenant)
        if row is not None:
            change.session.delete(row)
            change.directory_changed()


def list_suspensions(session: Session) -> list[site_schemas.SuspensionOut]:
    rows = session.scalars(select(TenantSuspensionRow).order_by(TenantSuspensionRow.tenant_id))
    return [_out(r) for r in rows]
