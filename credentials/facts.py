"""The revocation rule over four facts, and those facts read from the database."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Connection, Engine, column, create_engine, select, table
from sqlalchemy.engine import make_url

from protocol import Principal, Role

# Only the columns read here (lightweight tables: no ORM, no metadata of the API's store).
_tenants = table("tenants", column("id"))
_devices = table(
    "devices", column("tenant_id"), column("device_id"), column("role"), column("token_id")
)
_users = table(
    "users",
    column("id"),
    column("username"),
    column("role"),
    column("tenant_id"),
    column("token_version"),
)
_disabled_users = table("disabled_users", column("user_id"))
_tenant_suspensions = table("tenant_suspensions", column("tenant_id"))

DeviceToken = tuple[str, str]
"""A device's role and current token id."""
UserToken = tuple[str, str | None, int]
"""A user's role, tenant and current token version."""


class TokenFacts(Protocol):
    def tenant_suspended(self, tenant: str) -> bool: ...

    def device(self, tenant: str, device_id: str) -> DeviceToken | None: ...

    def user(self, username: str) -> UserToken | None: ...

    def user_disabled(self, username: str) -> bool: ...


def token_active(principal: Principal, facts: TokenFacts) -> bool:
    """Devices must still exist with this very token id (rotation and deletion revoke);
    users must still exist with the same role and tenant and the token's version (password
    or role change, deletion and sign-out bump it); public and publisher tokens have
    nothing to revoke. A suspended tenant's users and devices, and disabled users, are refused."""
    if principal.role in (Role.PUBLIC, Role.PUBLISHER):
        return True
    if principal.tenant is not None and facts.tenant_suspended(principal.tenant):
        return False
    if principal.is_device:
        found = facts.device(principal.tenant or "", principal.subject)
        return found == (principal.role.value, principal.token_id)
    user = facts.user(principal.subject)
    if user != (principal.role.value, principal.tenant, principal.token_version):
        return False
    return not facts.user_disabled(principal.subject)


class DatabaseFacts:
    """The facts read fresh at every call (blocking: call from a worker thread)."""

    def __init__(self, connect: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._connect = connect

    def tenant_exists(self, tenant: str) -> bool:
        with self._connect() as connection:
            found = connection.scalar(select(_tenants.c.id).where(_tenants.c.id == tenant))
        return found is not None

    def tenant_suspended(self, tenant: str) -> bool:
        with self._connect() as connection:
            found = connection.scalar(
                select(_tenant_suspensions.c.tenant_id).where(
                    _tenant_suspensions.c.tenant_id == tenant
                )
            )
        return found is not None

    def device(self, tenant: str, device_id: str) -> DeviceToken | None:
        with self._connect() as connection:
            row = connection.execute(
                select(_devices.c.role, _devices.c.token_id).where(
                    _devices.c.tenant_id == tenant, _devices.c.device_id == device_id
                )
            ).one_or_none()
        return None if row is None else (row.role, row.token_id)

    def user(self, username: str) -> UserToken | None:
        with self._connect() as connection:
            row = connection.execute(
                select(_users.c.role, _users.c.tenant_id, _users.c.token_version).where(
                    _users.c.username == username
                )
            ).one_or_none()
        return None if row is None else (row.role, row.tenant_id, row.token_version)

    def user_disabled(self, username: str) -> bool:
        with self._connect() as connection:
            found = connection.scalar(
                select(_disabled_users.c.user_id)
                .join(_users, _users.c.id == _disabled_users.c.user_id)
                .where(_users.c.username == username)
            )
        return found is not None


def read_engine(url: str) -> Engine:
    """An engine for another process's reads of the API's database (it never writes: SQLite's
    WAL mode, set by the API, lets it read while the API writes)."""
    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    return create_engine(url, pool_pre_ping=True)
