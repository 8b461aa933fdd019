"""Who may connect, read from the database: the input of the provisioner."""

from __future__ import annotations

from sqlalchemy import select

from protocol import Role
from publisher_api.dynsec.model import DeviceGrant, Grants, UserGrant
from publisher_api.store.database import Database
from publisher_api.store.models import DeviceRow, TenantRow, UserRow
from publisher_api.store.site_models import DisabledUserRow, TenantSuspensionRow


def load_grants(database: Database) -> Grants:
    """One read of every tenant, device and user (a few thousand rows at most). Blocking."""
    with database.session() as session:
        tenants = frozenset(session.scalars(select(TenantRow.id)))
        suspended = frozenset(session.scalars(select(TenantSuspensionRow.tenant_id)))
        disabled = frozenset(session.scalars(select(DisabledUserRow.user_id)))
        devices = tuple(
            DeviceGrant(row.tenant_id, row.device_id, Role(row.role), row.token_id)
            for row in session.execute(
                select(DeviceRow.tenant_id, DeviceRow.device_id, DeviceRow.role, DeviceRow.token_id)
            )
        )
        users = tuple(
            UserGrant(
                row.username,
                Role(row.role),
                row.tenant_id,
                int(row.token_version),
                disabled=row.id in disabled,
            )
            for row in session.execute(
                select(
                    UserRow.id,
                    UserRow.username,
                    UserRow.role,
                    UserRow.tenant_id,
                    UserRow.token_version,
                )
            )
        )
    return Grants(tenants=tenants, suspended=suspended, devices=devices, users=users)
