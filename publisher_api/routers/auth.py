"""``POST /api/v1/auth/token``: OAuth2 password login for users (devices get tokens from an
admin instead)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from protocol import Role
from publisher_api.auth import user_token, verify_password
from publisher_api.deps import RuntimeDep, SessionDep
from publisher_api.errors import Unauthorized
from publisher_api.schemas import TokenOut
from publisher_api.store.models import UserRow

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], runtime: RuntimeDep, session: SessionDep
) -> TokenOut:
    user = session.scalars(select(UserRow).where(UserRow.username == form.username)).one_or_none()
    if not verify_password(user.password_hash if user else None, form.password) or user is None:
        raise Unauthorized("wrong username or password")
    settings = runtime.settings
    token = user_token(
        settings, username=user.username, role=Role(user.role), tenant=user.tenant_id
    )
    return TokenOut(access_token=token, expires_in=settings.access_token_ttl_s)
