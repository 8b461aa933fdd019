"""``POST /api/v1/auth/token``: OAuth2 password login for users; ``POST /api/v1/auth/logout``
signs a user out everywhere. Devices get their token from an
admin and renew it themselves (``POST /api/v1/auth/renew``) before it expires, so a kiosk or a
panel left alone for years never stops on an expired credential."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from protocol import Role
from publisher_api.auth import device_token, user_token
from publisher_api.deps import CurrentPrincipal, RuntimeDep
from publisher_api.errors import ApiError, Forbidden, Unauthorized
from publisher_api.runtime import Runtime
from publisher_api.schemas import TokenOut
from publisher_api.services import admin
from publisher_api.site_errors import TenantSuspended, UserDisabled
from publisher_api.store.database import Database
from publisher_api.store.models import UserRow

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@dataclass(frozen=True, slots=True)
class _Account:
    username: str
    password_hash: str
    role: str
    tenant: str | None
    token_version: int


def _account(database: Database, username: str) -> _Account | None:
    """The user's row, read in one short query: no connection is held while argon2 runs."""
    with database.session() as session:
        row = session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
        if row is None:
            return None
        return _Account(row.username, row.password_hash, row.role, row.tenant_id, row.token_version)


def _access_refused(runtime: Runtime, account: _Account) -> ApiError | None:
    """A right password is still refused for a suspended tenant or a disabled user (read from
    the directory, which may ask the database: run off the event loop)."""
    directory = runtime.directory
    if account.tenant is not None and directory.tenant_suspended(account.tenant):
        return TenantSuspended(f"tenant {account.tenant} is suspended")
    if directory.user_disabled(account.username):
        return UserDisabled(f"user {account.username} is disabled")
    return None


@router.post(
    "/token",
    response_model=TokenOut,
    responses={429: {"description": "too many attempts; see Retry-After"}},
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, runtime: RuntimeDep
) -> TokenOut:
    """Sign in. Limited per client address and per username (429 with ``Retry-After``); the
    password check runs on its own bounded pool, never on the event loop or the write path."""
    guard = runtime.logins
    address = request.client.host if request.client else "unknown"
    guard.admit(address, form.username)
    account = await to_thread.run_sync(_account, runtime.database, form.username)
    valid = await guard.checks.verify(account.password_hash if account else None, form.password)
    if not valid or account is None:
        guard.failed(address, form.username)
        raise Unauthorized("wrong username or password")
    refusal = await to_thread.run_sync(_access_refused, runtime, account)
    if refusal is not None:
        raise refusal
    guard.succeeded(address)
    settings = runtime.settings
    token = user_token(
        settings,
        username=account.username,
        role=Role(account.role),
        tenant=account.tenant,
        token_version=account.token_version,
    )
    return TokenOut(access_token=token, expires_in=settings.access_token_ttl_s)


@router.post("/logout", status_code=204, response_class=Response)
def logout(principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    """Sign out everywhere: every token of the caller stops working at once, on HTTP and on
    live MQTT connections. Devices are revoked by an admin (rotate or delete) instead."""
    if not principal.is_user:
        raise Forbidden("only users sign out; an admin rotates or deletes a device's token")
    admin.sign_out(runtime.writer, principal.tenant, principal.subject)
    return Response(status_code=204)


@router.post("/renew", response_model=TokenOut)
def renew_device_token(principal: CurrentPrincipal, runtime: RuntimeDep) -> TokenOut:
    """A device's own token again, with a fresh expiry. Same token id: rotating or deleting the
    device still revokes the renewed token too. Only a token still valid and not revoked
    renews (401 otherwise); user tokens do not (403: users sign in again)."""
    if not principal.is_device or principal.tenant is None:
        raise Forbidden("only device tokens are renewed; users sign in again")
    settings = runtime.settings
    token = device_token(
        settings,
        tenant=principal.tenant,
        device_id=principal.subject,
        role=principal.role,
        token_id=principal.token_id,
        issued_at=datetime.now(UTC),
    )
    return TokenOut(access_token=token, expires_in=settings.device_token_ttl_days * 86_400)
