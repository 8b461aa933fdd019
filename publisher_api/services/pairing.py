"""Device pairing: an admin asks for a short one-time code for a device id and role; the device
(a browser kiosk or display, or ``--pair CODE`` on a pygame agent) exchanges it once for its own
device token, instead of someone pasting a 250-character token.

Rules, each tested: a code is six digits, valid :data:`CODE_TTL` and used at most once. Codes
belong to one tenant (their digest includes the tenant id): another tenant's code is just a wrong
code. Every wrong guess in a tenant counts against all of that tenant's open codes, and after
:data:`MAX_WRONG_ATTEMPTS` of them the codes are void, so guessing one of a million codes within
its lifetime is hopeless; the admin makes a new one. Wrong, expired, used and void codes get the
same answer, so a guesser learns nothing from it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update

from config import Settings
from publisher_api import site_schemas as schemas
from publisher_api.errors import ApiError, Conflict
from publisher_api.services.admin import with_token
from publisher_api.services.changes import Change, Writer
from publisher_api.store.models import DeviceRow
from publisher_api.store.site_models import PairingCodeRow

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_WRONG_ATTEMPTS = 5


class PairingRefused(ApiError):
    """Wrong, expired, used or void code, or a code of another tenant (one answer for all)."""

    status_code = 400
    code = "pairing_code_invalid"


def _digest(tenant: str, code: str) -> str:
    return hashlib.sha256(f"{tenant}:{code}".encode()).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _open(tenant: str, now: datetime) -> list[ColumnElement[bool]]:
    return [
        PairingCodeRow.tenant_id == tenant,
        PairingCodeRow.used_at.is_(None),
        PairingCodeRow.expires_at > now,
        PairingCodeRow.attempts < MAX_WRONG_ATTEMPTS,
    ]


def create_code(
    writer: Writer, tenant: str, body: schemas.PairingCodeIn, *, created_by: str, now: datetime
) -> schemas.PairingCodeOut:
    with writer.tenant(tenant, now=now) as change:
        session = change.session
        existing = session.scalars(
            select(DeviceRow).where(DeviceRow.tenant_id == tenant, DeviceRow.device_id == body.id)
        ).one_or_none()
        if existing is not None and existing.role != body.role:
            raise Conflict(
                f"device {body.id} exists as a {existing.role}; pair it as one or delete it",
                role=existing.role,
            )
        # Spent codes go (their digests would otherwise block a future code), as does any open
        # code for the same device: the newest code is the one on the admin's screen.
        session.execute(
            delete(PairingCodeRow).where(
                PairingCodeRow.tenant_id == tenant,
                or_(
                    PairingCodeRow.used_at.is_not(None),
                    PairingCodeRow.expires_at <= now,
                    PairingCodeRow.attempts >= MAX_WRONG_ATTEMPTS,
                    PairingCodeRow.device_id == body.id,
                ),
            )
        )
        taken = set(
            session.scalars(
                select(PairingCodeRow.code_digest).where(PairingCodeRow.tenant_id == tenant)
            )
        )
        code = _new_code()
        while _digest(tenant, code) in taken:
            code = _new_code()
        row = PairingCodeRow(
            tenant_id=tenant,
            code_digest=_digest(tenant, code),
            device_id=body.id,
            role=body.role,
            created_by=created_by,
            created_at=now,
            expires_at=now + CODE_TTL,
            attempts=0,
        )
        session.add(row)
    return schemas.PairingCodeOut(
        code=code, id=body.id, role=body.role, expires_at=row.expires_at, tenant=tenant
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    device: DeviceRow | None


def pair(
    writer: Writer, settings: Settings, body: schemas.PairIn, *, now: datetime
) -> schemas.PairOut:
    """The device token for a valid code (creating the device, or giving an existing one a new
    token, which revokes its old one); :class:`PairingRefused` otherwise."""
    try:
        with writer.tenant(body.tenant, now=now) as change:
            outcome = _redeem(change, body.code)
    except ApiError as refused:
        if refused.status_code == 404:  # unknown tenant: the same answer as a wrong code
            raise PairingRefused("wrong or expired pairing code") from None
        raise
    if outcome.device is None:
        raise PairingRefused("wrong or expired pairing code")  # after the commit of the count
    token = with_token(settings, outcome.device)
    return schemas.PairOut(
        tenant=body.tenant,
        id=outcome.device.device_id,
        role=outcome.device.role,
        token=token.token,
        expires_in=settings.device_token_ttl_days * 86_400,
    )


def _redeem(change: Change, code: str) -> _Outcome:
    session, tenant, now = change.session, change.tenant.id, change.now
    row = session.scalars(
        select(PairingCodeRow).where(
            *_open(tenant, now), PairingCodeRow.code_digest == _digest(tenant, code)
        )
    ).one_or_none()
    if row is None:
        # Committed with the refusal: each wrong guess brings every open code nearer its end.
        session.execute(
            update(PairingCodeRow)
            .where(*_open(tenant, now))
            .values(attempts=PairingCodeRow.attempts + 1)
        )
        return _Outcome(None)
    row.used_at = now
    device = session.scalars(
        select(DeviceRow).where(DeviceRow.tenant_id == tenant, DeviceRow.device_id == row.device_id)
    ).one_or_none()
    if device is None:
        device = DeviceRow(
            tenant_id=tenant,
            device_id=row.device_id,
            role=row.role,
            created_at=now,
        )
        session.add(device)
    device.token_id = uuid.uuid4().hex
    device.token_issued_at = now.replace(microsecond=0)
    change.directory_changed()  # a re-paired device's old token (and connection) is revoked
    return _Outcome(device)


def utc_now() -> datetime:
    return datetime.now(UTC)
