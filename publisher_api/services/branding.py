"""A tenant's branding: its logo and accent colour. Both are part of what screens show, so a
change is announced like any configuration change (new ``seq``); the queue snapshot carries the
logo's URL (versioned: a new upload is a new URL) and the colour."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from publisher_api import site_schemas
from publisher_api.errors import NotFound
from publisher_api.services.changes import Change, Writer
from publisher_api.services.pairing import utc_now
from publisher_api.store.branding import logo_url
from publisher_api.store.site_models import TenantBrandingRow


@dataclass(frozen=True, slots=True)
class Logo:
    data: bytes
    media_type: str
    version: str


def _row(change: Change) -> TenantBrandingRow:
    row = change.session.get(TenantBrandingRow, change.tenant.id)
    if row is None:
        row = TenantBrandingRow(tenant_id=change.tenant.id, updated_at=change.now)
        change.session.add(row)
    return row


def _out(row: TenantBrandingRow) -> site_schemas.BrandingOut:
    return site_schemas.BrandingOut(
        accent_color=row.accent_color, logo_url=logo_url(row.tenant_id, row.logo_version)
    )


def set_accent(
    writer: Writer, tenant: str, body: site_schemas.BrandingIn
) -> site_schemas.BrandingOut:
    with writer.tenant(tenant, now=utc_now()) as change:
        row = _row(change)
        row.accent_color = body.accent_color
        row.updated_at = change.now
        change.snapshot_changed()
    return _out(row)


def set_logo(
    writer: Writer, tenant: str, data: bytes | None, media_type: str | None
) -> site_schemas.BrandingOut:
    """Store an already checked logo (``services.logo.check_logo``), or remove it (None)."""
    with writer.tenant(tenant, now=utc_now()) as change:
        row = _row(change)
        row.logo, row.logo_type = data, media_type
        row.logo_version = None if data is None else uuid.uuid4().hex[:12]
        row.updated_at = change.now
        change.snapshot_changed()
    return _out(row)


def get_branding(session: Session, tenant: str) -> site_schemas.BrandingOut:
    row = session.get(TenantBrandingRow, tenant)
    return site_schemas.BrandingOut(accent_color=None, logo_url=None) if row is None else _out(row)


def get_logo(session: Session, tenant: str) -> Logo:
    row = session.get(TenantBrandingRow, tenant)
    if row is None or row.logo is None or row.logo_type is None or row.logo_version is None:
        raise NotFound("logo", tenant)
    return Logo(row.logo, row.logo_type, row.logo_version)
