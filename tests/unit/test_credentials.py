"""``credentials`` names the few columns it reads without importing the API's store (the
standalone broker may not); these must stay the store's columns."""

from __future__ import annotations

from sqlalchemy import TableClause

from credentials import facts
from publisher_api.store import site_models  # noqa: F401  (registers the tables it defines)
from publisher_api.store.models import Base


def test_every_column_credentials_reads_exists_in_the_store() -> None:
    tables: list[TableClause] = [
        facts._tenants,
        facts._devices,
        facts._users,
        facts._disabled_users,
        facts._tenant_suspensions,
    ]
    for light in tables:
        real = Base.metadata.tables[light.name]
        assert {c.name for c in light.columns} <= {c.name for c in real.columns}, light.name
