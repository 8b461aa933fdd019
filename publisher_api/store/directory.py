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
reads the same database (``python -m broker``) hears of no commit: it reads every time, through
the same reads (:mod:`credentials`) without this cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from credentials import DatabaseFacts, token_active
from credentials.facts import DeviceToken, UserToken
from protocol import Principal
from publisher_api.store.database import Database

V = TypeVar("V")
_MISSING = object()


class Directory:
    """The facts of :mod:`credentials`, remembered until the next invalidation."""

    def __init__(self, database: Database, *, remember: bool = True) -> None:
        self.database = database
        self._reads = DatabaseFacts(database.engine.connect)
        self._remember = remember
        self._lock = threading.Lock()
        self._generation = 0
        self._cache: dict[tuple[str, ...], object] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def tenant_exists(self, tenant: str) -> bool:
        return self._cached(("tenant", tenant), lambda: self._reads.tenant_exists(tenant))

    def token_active(self, principal: Principal) -> bool:
        """The ``TokenActive`` the broker calls at CONNECT (the rule: ``credentials``)."""
        return token_active(principal, self)

    def tenant_suspended(self, tenant: str) -> bool:
        """A suspended tenant's users and devices are refused (see services.suspension)."""
        return self._cached(("suspended", tenant), lambda: self._reads.tenant_suspended(tenant))

    def user_disabled(self, username: str) -> bool:
        """A disabled user is refused (see services.user_access)."""
        return self._cached(("disabled", username), lambda: self._reads.user_disabled(username))

    def device(self, tenant: str, device_id: str) -> DeviceToken | None:
        return self._cached(
            ("device", tenant, device_id), lambda: self._reads.device(tenant, device_id)
        )

    def user(self, username: str) -> UserToken | None:
        return self._cached(("user", username), lambda: self._reads.user(username))

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
