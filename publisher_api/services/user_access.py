"""Disabling a user (admin): refused at sign-in and on every token, live MQTT connections
closed, until enabled again. Nobody disables themselves, and a tenant keeps one enabled admin."""

from __future__ import annotations

from sqlalchemy import func, select

from publisher_api.errors import Forbidden, NotFound
from publisher_api.services.changes import Change, Writer
from publisher_api.services.pairing import utc_now
from publisher_api.site_errors import LastAdmin
from publisher_api.store.models import UserRow
from publisher_api.store.site_models import DisabledUserRow


def _user(change: Change, username: str) -> UserRow:
    row = change.session.scalars(
        select(UserRow).where(UserRow.tenant_id == change.tenant.id, UserRow.username == username)
    ).one_or_none()
    if row is None:
        raise NotFound("user", username)
    return row


def disable(writer: Writer, tenant: str, username: str, *, by: str) -> None:
    if username == by:
        raise Forbidden("you cannot disable yourself")
    with writer.tenant(tenant, now=utc_now()) as change:
        row = _user(change, username)
        if change.session.get(DisabledUserRow, row.id) is not None:
            return
        if row.role == "admin":
            enabled_admins = change.session.scalar(
                select(func.count())
                .select_from(UserRow)
                .outerjoin(DisabledUserRow, DisabledUserRow.user_id == UserRow.id)
                .where(
                    UserRow.tenant_id == tenant,
                    UserRow.role == "admin",
                    DisabledUserRow.user_id.is_(None),
                )
            )
            if (enabled_admins or 0) <= 1:
                raise LastAdmin("the tenant's last enabled admin cannot be disabled")
        change.session.add(DisabledUserRow(user_id=row.id, disabled_by=by, disabled_at=change.now))
        change.directory_changed()  # its tokens stop at once


def enable(writer: Writer, tenant: str, username: str) -> None:
    with writer.tenant(tenant, now=utc_now()) as change:
        row = _user(change, username)
        disabled = change.session.get(DisabledUserRow, row.id)
        if disabled is not None:
            change.session.delete(disabled)
            change.directory_changed()


def disabled_users(writer: Writer, tenant: str) -> list[str]:
    with writer.database.session() as session:
        return list(
            session.scalars(
                select(UserRow.username)
                .join(DisabledUserRow, DisabledUserRow.user_id == UserRow.id)
                .where(UserRow.tenant_id == tenant)
                .order_by(UserRow.username)
            )
        )
