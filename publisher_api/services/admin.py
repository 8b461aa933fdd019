"""Administration use cases: tenants and their services, counters, users and devices.

Changes that alter what screens show (tenant settings, services, counters) are announced like
ticket changes (new ``seq``); users and devices are not part of the snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from config import Settings
from protocol import ENDED_STATUSES, Role
from publisher_api import schemas
from publisher_api.auth import device_token, hash_password, next_token_version
from publisher_api.domain.lifecycle import OPEN_STATUSES
from publisher_api.domain.service_rules import ServiceInUse, check_delete
from publisher_api.errors import Conflict, Forbidden, Invalid, NotFound
from publisher_api.services import counters
from publisher_api.services.changes import Change, Writer
from publisher_api.site_errors import LastAdmin
from publisher_api.store import outbox, records
from publisher_api.store.models import (
    CounterRow,
    DeviceRow,
    ServiceRow,
    TenantRow,
    TicketRow,
    UserRow,
)
from publisher_api.store.records import TenantRecord

DEFAULT_CALL_TIMEOUT_S = 900


def _now() -> datetime:
    return datetime.now(UTC)


OwnedRow = TypeVar("OwnedRow", ServiceRow, CounterRow, UserRow, DeviceRow)


def _owned(
    change: Change, row_type: type[OwnedRow], key: ColumnElement[bool], named: tuple[str, object]
) -> OwnedRow:
    """The changing tenant's one row of ``row_type`` matching ``key``; 404 naming what was
    asked for otherwise (another tenant's row is as absent as a missing one)."""
    row = change.session.scalars(
        select(row_type).where(row_type.tenant_id == change.tenant.id, key)
    ).one_or_none()
    if row is None:
        what, value = named
        raise NotFound(what, value)
    return row


# --- tenants ----------------------------------------------------------------------------------


def tenant_out(row: TenantRow | TenantRecord) -> schemas.TenantOut:
    return schemas.TenantOut.model_validate(row, from_attributes=True)


def create_tenant(writer: Writer, body: schemas.TenantIn) -> schemas.TenantOut:
    now = _now()
    row = TenantRecord(
        id=body.id,
        name=body.name,
        timezone=body.timezone,
        locale=body.locale,
        ticker=None,
        priority_mode="ratio",
        normal_per_priority=2,
        aging_bound_s=None,
        seq=0,
        order_counter=0,
        normal_streak=0,
        created_at=now,
        call_timeout_s=DEFAULT_CALL_TIMEOUT_S,
    )
    with writer.tenant(body.id, now=now, create=row):
        pass
    return tenant_out(row)


def update_tenant(writer: Writer, tenant: str, body: schemas.TenantPatch) -> schemas.TenantOut:
    with writer.tenant(tenant, now=_now()) as change:
        row = change.tenant
        for field in body.model_fields_set:
            value = getattr(body, field)
            if field == "aging_bound_s":
                value = value or None  # 0 removes the bound
            elif value is None and field != "ticker":
                continue
            setattr(row, field, value.value if hasattr(value, "value") else value)
        change.snapshot_changed()
    return tenant_out(row)


def delete_tenant(writer: Writer, tenant: str) -> None:
    with writer.tenant(tenant, now=_now()) as change:
        change.delete_tenant()


def list_tenants(session: Session) -> list[schemas.TenantOut]:
    return [tenant_out(r) for r in session.scalars(select(TenantRow).order_by(TenantRow.id))]


def get_tenant(session: Session, tenant: str) -> schemas.TenantOut:
    row = session.get(TenantRow, tenant)
    if row is None:
        raise NotFound("tenant", tenant)
    return tenant_out(row)


# --- services ---------------------------------------------------------------------------------


def _service(change: Change, prefix: str) -> ServiceRow:
    return _owned(change, ServiceRow, ServiceRow.prefix == prefix, ("service", prefix))


def service_out(row: ServiceRow) -> schemas.ServiceOut:
    return schemas.ServiceOut.model_validate(row, from_attributes=True)


def list_services(session: Session, tenant: str) -> list[schemas.ServiceOut]:
    rows = session.scalars(
        select(ServiceRow).where(ServiceRow.tenant_id == tenant).order_by(ServiceRow.prefix)
    )
    return [service_out(r) for r in rows]


def create_service(writer: Writer, tenant: str, body: schemas.ServiceIn) -> schemas.ServiceOut:
    with writer.tenant(tenant, now=_now()) as change:
        if _exists(change.session, ServiceRow, tenant, ServiceRow.prefix == body.prefix):
            raise Conflict(f"service {body.prefix} already exists")
        row = ServiceRow(
            tenant_id=tenant,
            prefix=body.prefix,
            name=body.name,
            priority_allowed=body.priority_allowed,
            last_number=0,
        )
        change.session.add(row)
        change.snapshot_changed()
    return service_out(row)


def update_service(
    writer: Writer, tenant: str, prefix: str, body: schemas.ServicePatch
) -> schemas.ServiceOut:
    with writer.tenant(tenant, now=_now()) as change:
        row = _service(change, prefix)
        if body.name is not None:
            row.name = body.name
        if body.priority_allowed is not None:
            row.priority_allowed = body.priority_allowed
        change.snapshot_changed()
    return service_out(row)


def delete_service(writer: Writer, tenant: str, prefix: str) -> None:
    with writer.tenant(tenant, now=_now()) as change:
        row = _service(change, prefix)
        unfinished = change.session.scalar(
            select(func.count()).where(
                TicketRow.tenant_id == tenant,
                TicketRow.service == prefix,
                TicketRow.status.not_in([s.value for s in ENDED_STATUSES]),
            )
        )
        try:
            check_delete(prefix, unfinished=unfinished or 0)
        except ServiceInUse as refusal:
            raise Conflict(str(refusal), unfinished=refusal.unfinished) from None
        change.session.delete(row)
        for counter in change.session.scalars(
            select(CounterRow).where(CounterRow.tenant_id == tenant)
        ):
            assigned = [p for p in counter.services.split(",") if p]
            if prefix in assigned:
                counter.services = ",".join(p for p in assigned if p != prefix)
        change.snapshot_changed()


# --- counters ---------------------------------------------------------------------------------


def _counter(change: Change, number: int) -> CounterRow:
    return _owned(change, CounterRow, CounterRow.number == number, ("counter", number))


def _counter_services(change: Change, prefixes: list[str]) -> str:
    """The stored form of a counter's services, each checked to exist in the tenant."""
    known = set(
        change.session.scalars(
            select(ServiceRow.prefix).where(ServiceRow.tenant_id == change.tenant.id)
        )
    )
    unknown = sorted(set(prefixes) - known)
    if unknown:
        raise Invalid(f"unknown service(s): {', '.join(unknown)}", field="services")
    return ",".join(dict.fromkeys(prefixes))


def _counter_out(change: Change, row: CounterRow) -> Callable[[], schemas.CounterOut]:
    """The counter's document after the commit (with the ticket it holds)."""
    change.flush_session()  # the counter as this change left it, read back as a record
    counter = records.counter_of(
        change.session.execute(records.select_counters().where(CounterRow.id == row.id)).one()
    )
    found = change.session.execute(
        records.select_tickets().where(
            TicketRow.tenant_id == change.tenant.id,
            TicketRow.counter == row.number,
            TicketRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
    ).first()
    held = None if found is None else records.ticket_of(found)

    def out() -> schemas.CounterOut:
        snapshot = change.snapshot or change.current
        assert snapshot is not None
        return counters.counter_document(counter, snapshot, held)

    return out


def create_counter(writer: Writer, tenant: str, body: schemas.CounterIn) -> schemas.CounterOut:
    with writer.tenant(tenant, now=_now()) as change:
        if _exists(change.session, CounterRow, tenant, CounterRow.number == body.number):
            raise Conflict(f"counter {body.number} already exists")
        row = CounterRow(
            tenant_id=tenant,
            number=body.number,
            name=body.name,
            status="closed",
            services=_counter_services(change, body.services),
        )
        change.session.add(row)
        change.snapshot_changed()
        out = _counter_out(change, row)
    return out()


def update_counter(
    writer: Writer, tenant: str, number: int, body: schemas.CounterPatch
) -> schemas.CounterOut:
    with writer.tenant(tenant, now=_now()) as change:
        row = _counter(change, number)
        if body.name is not None:
            row.name = body.name
        if body.services is not None:
            row.services = _counter_services(change, body.services)
        change.snapshot_changed()
        out = _counter_out(change, row)
    return out()


def delete_counter(writer: Writer, tenant: str, number: int) -> None:
    with writer.tenant(tenant, now=_now()) as change:
        change.session.delete(_counter(change, number))
        change.snapshot_changed()


# --- users ------------------------------------------------------------------------------------


def user_out(row: UserRow) -> schemas.UserOut:
    return schemas.UserOut(username=row.username, role=row.role, tenant=row.tenant_id)


def _user(change: Change, username: str) -> UserRow:
    return _owned(change, UserRow, UserRow.username == username, ("user", username))


def list_users(session: Session, tenant: str) -> list[schemas.UserOut]:
    rows = session.scalars(
        select(UserRow).where(UserRow.tenant_id == tenant).order_by(UserRow.username)
    )
    return [user_out(r) for r in rows]


def create_user(writer: Writer, tenant: str, body: schemas.UserIn) -> schemas.UserOut:
    password_hash = hash_password(body.password)  # slow on purpose: outside the write lock
    with writer.tenant(tenant, now=_now()) as change:
        taken = change.session.scalar(select(UserRow.id).where(UserRow.username == body.username))
        if taken is not None:
            raise Conflict(f"username {body.username} is taken")
        row = UserRow(
            username=body.username,
            password_hash=password_hash,
            role=body.role,
            tenant_id=tenant,
            created_at=change.now,
            # Above any version a deleted user of the same name had: its tokens stay dead.
            token_version=next_token_version(),
        )
        change.session.add(row)
        change.directory_changed()
    return user_out(row)


def update_user(
    writer: Writer, tenant: str, username: str, body: schemas.UserPatch
) -> schemas.UserOut:
    password_hash = hash_password(body.password) if body.password is not None else None
    with writer.tenant(tenant, now=_now()) as change:
        row = _user(change, username)
        if password_hash is not None:
            row.password_hash = password_hash
        if body.role is not None:
            if row.role == Role.ADMIN.value and body.role != row.role:
                _keep_an_admin(change, tenant)
            row.role = body.role
        if password_hash is not None or body.role is not None:
            # A new password or role signs the user out everywhere (HTTP and live MQTT): a
            # role flipped back must not revive the tokens of the first flip either.
            row.token_version = next_token_version(row.token_version)
            change.directory_changed()
    return user_out(row)


def sign_out(writer: Writer, tenant: str | None, username: str) -> None:
    """Revoke every token of ``username`` (all its sessions), HTTP and live MQTT."""
    if tenant is None:  # a superadmin belongs to no tenant: no tenant change to hang it on
        with writer.database.writing(None) as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username)).one()
            row.token_version = next_token_version(row.token_version)
            if writer.outbox:  # other replicas drop their cached identities
                outbox.signal(session.connection(), outbox.Signal("", 0, directory=True))
            session.commit()
        if writer.directory is not None:
            writer.directory.invalidate()
        writer.sink.credentials_changed("")
        return
    with writer.tenant(tenant, now=_now()) as change:
        row = _user(change, username)
        row.token_version = next_token_version(row.token_version)
        change.directory_changed()


def delete_user(writer: Writer, tenant: str, username: str, *, acting: str) -> None:
    if username == acting:
        raise Forbidden("you cannot delete yourself")
    with writer.tenant(tenant, now=_now()) as change:
        row = _user(change, username)
        if row.role == Role.ADMIN.value:
            _keep_an_admin(change, tenant)
        change.session.delete(row)
        change.directory_changed()


def _keep_an_admin(change: Change, tenant: str) -> None:
    """Refuse to demote or remove the tenant's only admin."""
    admins = change.session.scalar(
        select(func.count()).where(UserRow.tenant_id == tenant, UserRow.role == Role.ADMIN.value)
    )
    if (admins or 0) <= 1:
        raise LastAdmin("the tenant's last admin cannot be demoted or removed")


# --- devices ----------------------------------------------------------------------------------


def _device(change: Change, device_id: str) -> DeviceRow:
    return _owned(change, DeviceRow, DeviceRow.device_id == device_id, ("device", device_id))


def with_token(settings: Settings, row: DeviceRow) -> schemas.DeviceWithToken:
    token = device_token(
        settings,
        tenant=row.tenant_id,
        device_id=row.device_id,
        role=Role(row.role),
        token_id=row.token_id,
        issued_at=row.token_issued_at,
    )
    return schemas.DeviceWithToken(id=row.device_id, role=row.role, token=token)


def list_devices(session: Session, tenant: str) -> list[schemas.DeviceOut]:
    rows = session.scalars(
        select(DeviceRow).where(DeviceRow.tenant_id == tenant).order_by(DeviceRow.device_id)
    )
    return [schemas.DeviceOut(id=r.device_id, role=r.role) for r in rows]


def create_device(
    writer: Writer, settings: Settings, tenant: str, body: schemas.DeviceIn
) -> schemas.DeviceWithToken:
    with writer.tenant(tenant, now=_now()) as change:
        if _exists(change.session, DeviceRow, tenant, DeviceRow.device_id == body.id):
            raise Conflict(f"device {body.id} already exists; rotate its token instead")
        row = DeviceRow(
            tenant_id=tenant,
            device_id=body.id,
            role=body.role,
            token_id=uuid.uuid4().hex,
            token_issued_at=change.now.replace(microsecond=0),
            created_at=change.now,
        )
        change.session.add(row)
        change.directory_changed()
    return with_token(settings, row)


def rotate_device_token(
    writer: Writer, settings: Settings, tenant: str, device_id: str
) -> schemas.DeviceWithToken:
    """A new token for the device; the old one stops working at once (HTTP and MQTT CONNECT)."""
    with writer.tenant(tenant, now=_now()) as change:
        row = _device(change, device_id)
        row.token_id = uuid.uuid4().hex
        row.token_issued_at = change.now.replace(microsecond=0)
        change.directory_changed()
    return with_token(settings, row)


def delete_device(writer: Writer, tenant: str, device_id: str) -> None:
    with writer.tenant(tenant, now=_now()) as change:
        change.session.delete(_device(change, device_id))
        change.directory_changed()


def _exists(
    session: Session,
    model: type[ServiceRow | CounterRow | DeviceRow],
    tenant: str,
    where: ColumnElement[bool],
) -> bool:
    return session.scalar(select(model).where(model.tenant_id == tenant, where)) is not None
