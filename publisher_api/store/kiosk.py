"""How services are offered on kiosks (order, description, active), read for the snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from publisher_api.store.site_models import ServiceKioskRow


@dataclass(frozen=True, slots=True)
class Presentation:
    position: int = 0
    description: str | None = None
    active: bool = True


def presentations(connection: Connection, tenant: str) -> dict[str, Presentation]:
    rows = connection.execute(
        select(
            ServiceKioskRow.prefix,
            ServiceKioskRow.position,
            ServiceKioskRow.description,
            ServiceKioskRow.active,
        ).where(ServiceKioskRow.tenant_id == tenant)
    ).all()
    return {r.prefix: Presentation(r.position, r.description, r.active) for r in rows}
