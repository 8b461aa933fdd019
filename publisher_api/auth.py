"""Passwords (argon2) and the tokens this API hands out (``protocol.auth`` format)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config import Settings
from protocol import Role, issue_token

_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong username costs as long as a wrong password
# (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def user_token(settings: Settings, *, username: str, role: Role, tenant: str | None) -> str:
    token, _ = issue_token(
        secret=settings.secret_key.get_secret_value(),
        subject=username,
        role=role,
        tenant=tenant,
        ttl=timedelta(seconds=settings.access_token_ttl_s),
    )
    return token


def device_token(
    settings: Settings,
    *,
    tenant: str,
    device_id: str,
    role: Role,
    token_id: str,
    issued_at: datetime,
) -> str:
    """Deterministic for a given (token_id, issued_at): re-printing a device's token after a
    restart gives the very same string, and rotating changes both."""
    token, _ = issue_token(
        secret=settings.secret_key.get_secret_value(),
        subject=device_id,
        role=role,
        tenant=tenant,
        ttl=timedelta(days=settings.device_token_ttl_days),
        now=issued_at.astimezone(UTC),
        token_id=token_id,
    )
    return token
