"""Passwords (argon2) and the tokens this API hands out (``protocol.auth`` format)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config import Settings
from protocol import Principal, Role, issue_token, verify_token

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


def user_token(
    settings: Settings,
    *,
    username: str,
    role: Role,
    tenant: str | None,
    token_version: int = 0,
) -> str:
    token, _ = issue_token(
        secret=settings.secret_key.get_secret_value(),
        subject=username,
        role=role,
        tenant=tenant,
        ttl=timedelta(seconds=settings.access_token_ttl_s),
        token_version=token_version,
    )
    return token


def next_token_version(current: int | None = None) -> int:
    """The version a user's tokens get after a revocation (or at creation, ``current=None``).

    Milliseconds of the clock, and always above the current one: a user deleted and created
    again under the same name starts above every version the old one ever had, so none of
    the old tokens comes back to life."""
    now_ms = time.time_ns() // 1_000_000
    return now_ms if current is None else max(current + 1, now_ms)


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


class TokenVerifier:
    """``verify_token`` with a memory: every request carries a token, and checking an HS256
    signature and its claims costs more than the rest of authentication. A token verified
    once is trusted until it expires (revocation is checked separately, on every request, by
    the directory). Bounded: the oldest entries go first."""

    def __init__(self, secret: str, max_entries: int = 10_000) -> None:
        self._secret = secret
        self._max = max_entries
        self._verified: dict[str, Principal] = {}

    def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is not None and datetime.now(UTC) < principal.expires_at:
            return principal
        principal = verify_token(token, secret=self._secret)  # raises InvalidToken
        if len(self._verified) >= self._max:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = principal
        return principal
