"""A tenant's branding as screens get it in the queue snapshot: accent colour and logo URL."""

from __future__ import annotations

from sqlalchemy import Connection, select

from publisher_api.store.site_models import TenantBrandingRow


def logo_url(tenant: str, version: str | None) -> str | None:
    """Versioned: a new upload is a new URL, so a cached old logo is never shown."""
    return None if version is None else f"/api/v1/tenants/{tenant}/logo?v={version}"


def branding_of(connection: Connection, tenant: str) -> tuple[str | None, str | None]:
    """(accent colour, logo URL), read inside the caller's transaction."""
    row = connection.execute(
        select(TenantBrandingRow.accent_color, TenantBrandingRow.logo_version).where(
            TenantBrandingRow.tenant_id == tenant
        )
    ).one_or_none()
    if row is None:
        return None, None
    return row.accent_color, logo_url(tenant, row.logo_version)
