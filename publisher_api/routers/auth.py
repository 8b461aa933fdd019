"""``POST /api/v1/auth/token``: OAuth2 password login for users. Devices get their token from an
admin and renew it themselves (``POST /api/v1/auth/renew``) before it expires, so a kiosk or a
panel left alone for years never stops on an expired credential."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from protocol import Role
from publisher_api.auth import device_token, user_token, verify_password
from publisher_api.deps import CurrentPrincipal, RuntimeDep, SessionDep
from publisher_api.errors import Forbidden, Unauthorized
from publisher_api.schemas import TokenOut
from publisher_api.site_errors import TenantSuspended, UserDisabled
from publisher_api.store.models import UserRow

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], runtime: RuntimeDep, session: SessionDep
) -> TokenOut:
    user = session.scalars(select(UserRow).where(UserRow.username == form.username)).one_or_none()
    if not verify_password(user.password_hash if user else None, form.password) or user is None:
        raise Unauthorized("wrong username or password")
    if user.tenant_id is not None and runtime.directory.tenant_suspended(user.tenant_id):
        raise TenantSuspended(f"tenant {user.tenant_id} is suspended")
    if runtime.directory.user_disabled(user.username):
        raise UserDisabled(f"user {user.username} is disabled")
    settings = runtime.settings
    token = user_token(
        settings, username=user.username, role=Role(user.role), tenant=user.tenant_id
    )
    return TokenOut(access_token=token, expires_in=settings.access_token_ttl_s)


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
