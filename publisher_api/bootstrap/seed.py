"""Start-up data: the dev tenant (dev mode only), the optional bootstrap superadmin, and the
guard that refuses to run a non-dev server with the dev logins still working."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from config import Settings
from publisher_api.auth import hash_password, verify_password
from publisher_api.bootstrap.dev_tenant import DEV_TENANT
from publisher_api.errors import Conflict
from publisher_api.services import admin
from publisher_api.services.changes import Writer
from publisher_api.store.database import Database
from publisher_api.store.models import DeviceRow, TenantRow, UserRow

log = logging.getLogger(__name__)


class UnsafeDefaults(RuntimeError):
    """A production database still accepts a dev login."""


@dataclass(frozen=True)
class SeededDevice:
    id: str
    role: str
    token: str


def seed_dev(writer: Writer, settings: Settings) -> list[SeededDevice]:
    """Create what is missing of the dev tenant; never overwrite what exists (idempotent).
    Returns the dev devices with their tokens (the same strings on every start)."""
    database = writer.database
    data = DEV_TENANT
    with database.session() as session:
        exists = session.get(TenantRow, data.tenant.id) is not None
    if not exists:
        admin.create_tenant(writer, data.tenant)
    for service in data.services:
        with suppress(Conflict):
            admin.create_service(writer, data.tenant.id, service)
    for counter in data.counters:
        with suppress(Conflict):
            admin.create_counter(writer, data.tenant.id, counter)
    for user in data.users:
        _ensure_user(database, user.username, user.password, user.role, user.tenant)
    devices = []
    for device in data.devices:
        with suppress(Conflict):
            admin.create_device(writer, settings, data.tenant.id, device)
        with database.session() as session:
            row = session.scalars(
                select(DeviceRow).where(
                    DeviceRow.tenant_id == data.tenant.id, DeviceRow.device_id == device.id
                )
            ).one()
            out = admin.with_token(settings, row)
        devices.append(SeededDevice(out.id, out.role, out.token))
    return devices


def ensure_bootstrap_superadmin(database: Database, settings: Settings) -> None:
    """``QUEUECAST_BOOTSTRAP_SUPERADMIN=name:password`` creates that superadmin if missing:
    how a production install gets its first login."""
    if settings.bootstrap_superadmin is None:
        return
    username, _, password = settings.bootstrap_superadmin.get_secret_value().partition(":")
    _ensure_user(database, username, password, "superadmin", None)


def refuse_dev_logins(database: Database) -> None:
    """Outside dev mode, the dev superadmin (``root``/``root``) may not work: it opens every
    tenant, and only whoever installs the server can have made it.

    Only superadmin accounts are judged. Tenant users are their admins' choice: refusing to
    start because a tenant admin created ``operator``/``operator`` let any tenant admin stop
    the server for every tenant at its next restart (a crash loop under systemd). Those are
    logged as a warning instead."""
    with database.session() as session:
        for user in DEV_TENANT.users:
            row = session.scalars(
                select(UserRow).where(UserRow.username == user.username)
            ).one_or_none()
            if row is None or not verify_password(row.password_hash, user.password):
                continue
            if row.role == "superadmin":
                raise UnsafeDefaults(
                    f"superadmin {user.username!r} still has its dev password in this "
                    "database. Outside dev mode, change or delete it (or run with "
                    "QUEUECAST_ENV=dev for a demo)."
                )
            log.warning(
                "user %r of tenant %r signs in with its own name as password; its admin "
                "should change it",
                row.username,
                row.tenant_id,
            )


def _ensure_user(
    database: Database, username: str, password: str, role: str, tenant: str | None
) -> None:
    with database.writing(tenant) as session:
        if session.scalar(select(UserRow.id).where(UserRow.username == username)) is None:
            session.add(
                UserRow(
                    username=username,
                    password_hash=hash_password(password),
                    role=role,
                    tenant_id=tenant,
                    created_at=datetime.now(UTC),
                )
            )
            session.commit()
