"""Who exists: tenants, users, devices and their current token ids, cached in memory.

Every authenticated request and every MQTT CONNECT asks "is this token still honoured?" and
"does this tenant exist?"; answering from memory keeps those checks off the database. The
cache is dropped by the writer right after any commit that changes users, devices or tenants
(``Change.directory_changed``), under the write lock.

A generation counter closes the classic race: a reader that loaded a value from the database
just before a writer committed and invalidated would otherwise put the stale value back. It
stores what it read only if no invalidation happened in between.

Scope: one process owns the database's writes (the API process), so in-process invalidation is
complete. Changes made behind its back (SQL by hand) show after a restart. Another process that
reads the same database (``python -m broker``) hears of no commit: it asks with
``remember=False`` and reads every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select

from protocol import Principal, Role
from publisher_api.store.database import Database
from publisher_api.store.models import DeviceRow, TenantRow, UserRow
from publisher_api.store.site_models import DisabledUserRow, TenantSuspensionRow

V = TypeVar("V")
_MISSING = object()


class Directory:
    def __init__(self, database: Database, *, remember: bool = True) -> None:
        self.database = database
        self._remember = remember
        self._lock = threading.Lock()
        self._generation = 0
        self._cache: dict[tuple[str, ...], object] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def tenant_exists(self, tenant: str) -> bool:
        return self._cached(("tenant", tenant), lambda: self._load_tenant(tenant))

    def token_active(self, principal: Principal) -> bool:
        """Devices must still exist with this very token id (rotation and deletion revoke);
        users must still exist with the same role and tenant and the token's version (password
        or role change, deletion and sign-out bump it); public and publisher tokens have
        nothing to revoke. The ``TokenActive`` the broker calls at CONNECT."""
        if principal.role in (Role.PUBLIC, Role.PUBLISHER):
            return True
        if principal.tenant is not None and self.tenant_suspended(principal.tenant):
            return False
        if principal.is_device:
            tenant = principal.tenant or ""
            found = self._cached(
                ("device", tenant, principal.subject),
                lambda: self._load_device(tenant, principal.subject),
            )
            return found == (principal.role.value, principal.token_id)
        user = self._cached(("user", principal.subject), lambda: self._load_user(principal.subject))
        if user != (principal.role.value, principal.tenant, principal.token_version):
            return False
        return not self.user_disabled(principal.subject)

    def tenant_suspended(self, tenant: str) -> bool:
        """A suspended tenant's users and devices are refused (see services.suspension)."""
        return self._cached(("suspended", tenant), lambda: self._load_suspended(tenant))

    def user_disabled(self, username: str) -> bool:
        """A disabled user is refused (see services.user_access)."""
        return self._cached(("disabled", username), lambda: self._load_disabled(username))

    def _load_disabled(self, username: str) -> bool:
        with self.database.session() as session:
            found = session.scalar(
                select(DisabledUserRow.user_id)
                .join(UserRow, UserRow.id == DisabledUserRow.user_id)
                .where(UserRow.username == username)
            )
        return found is not None

    def _load_suspended(self, tenant: str) -> bool:
        with self.database.session() as session:
            return session.get(TenantSuspensionRow, tenant) is not None

    def _cached(self, key: tuple[str, ...], load: Callable[[], V]) -> V:
        if not self._remember:
            return load()
        with self._lock:
            value = self._cache.get(key, _MISSING)
            generation = self._generation
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        loaded = load()
        with self._lock:
            if self._generation == generation:
                self._cache[key] = loaded
        return loaded

    def _load_tenant(self, tenant: str) -> bool:
        with self.database.session() as session:
            return session.get(TenantRow, tenant) is not None

    def _load_device(self, tenant: str, device_id: str) -> tuple[str, str] | None:
        with self.database.session() as session:
            row = session.execute(
                select(DeviceRow.role, DeviceRow.token_id).where(
                    DeviceRow.tenant_id == tenant, DeviceRow.device_id == device_id
                )
            ).one_or_none()
        return None if row is None else (row.role, row.token_id)

    def _load_user(self, username: str) -> tuple[str, str | None, int] | None:
        with self.database.session() as session:
            row = session.execute(
                select(UserRow.role, UserRow.tenant_id, UserRow.token_version).where(
                    UserRow.username == username
                )
            ).one_or_none()
        return None if row is None else (row.role, row.tenant_id, row.token_version)
