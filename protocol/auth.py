"""Who is talking: roles, the principal a token stands for, and the token format.

One token format serves HTTP (``Authorization: Bearer``) and MQTT (the CONNECT password), so the
API and the broker agree on identity without sharing anything but the signing secret. Tokens are
HS256 JWTs; they always expire (``exp``), device tokens after a long time, ``public`` ones after
minutes. Revocation of device tokens is the API's business (it keeps the token id per device).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from protocol.broker_acl import emqx_acl

ISSUER = "queuecast"
_ALGORITHM = "HS256"
# The broker decides at CONNECT; a clock a little off on an edge device must not lock it out.
_LEEWAY = timedelta(seconds=30)


class Role(StrEnum):
    SUPERADMIN = "superadmin"  # every tenant; no tenant of its own
    ADMIN = "admin"  # one tenant: configuration, users, devices
    OPERATOR = "operator"  # one tenant: calls tickets at a counter
    TOTEM = "totem"  # kiosk device: issues tickets, follows the queue
    DISPLAY = "display"  # public call display device
    PUBLIC = "public"  # browser pages and phones: read-only queue, events, tickets
    PUBLISHER = "publisher"  # the API's own MQTT client: publishes under every tenant


USER_ROLES = frozenset({Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR})
DEVICE_ROLES = frozenset({Role.TOTEM, Role.DISPLAY})


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified identity behind a token.

    ``subject`` is a username, a device id, ``public`` or ``publisher``. ``tenant`` is ``None``
    only for superadmin and the publisher, who act in every tenant.
    """

    subject: str
    role: Role
    tenant: str | None
    token_id: str
    expires_at: datetime
    token_version: int = 0
    """User tokens: the user's token version when the token was signed. Changing the user's
    password or role, deleting the user or signing out bumps the stored version, which revokes
    every older token at once (HTTP and live MQTT). Tokens without the claim are version 0."""

    def may_act_in(self, tenant: str) -> bool:
        return self.tenant is None or self.tenant == tenant

    @property
    def is_device(self) -> bool:
        return self.role in DEVICE_ROLES

    @property
    def is_user(self) -> bool:
        return self.role in USER_ROLES


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired; ``str()`` says which, for logs and
    a 401 body (never anything secret)."""


def issue_token(
    *,
    secret: str,
    subject: str,
    role: Role,
    tenant: str | None,
    ttl: timedelta,
    now: datetime | None = None,
    token_id: str | None = None,
    token_version: int = 0,
) -> tuple[str, Principal]:
    """Sign a token; returns it with the principal it stands for."""
    if role not in (Role.SUPERADMIN, Role.PUBLISHER) and tenant is None:
        raise ValueError(f"role {role} needs a tenant")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    principal = Principal(
        subject=subject,
        role=role,
        tenant=tenant,
        token_id=token_id or uuid.uuid4().hex,
        expires_at=issued + ttl,
        token_version=token_version,
    )
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "role": role.value,
        "tenant": tenant,
        "jti": principal.token_id,
        "iat": issued,
        "exp": principal.expires_at,
        # What this token may publish and subscribe to, for an EMQX cluster that checks our
        # tokens itself (docs/deploy-emqx.md); our brokers decide from role and tenant.
        "acl": emqx_acl(role.value, tenant, subject),
    }
    if token_version:
        claims["ver"] = token_version
    return jwt.encode(claims, secret, algorithm=_ALGORITHM), principal


def verify_token(token: str, *, secret: str) -> Principal:
    """Check signature, issuer and expiry; return the principal or raise :class:`InvalidToken`."""
    if not token:
        raise InvalidToken("missing token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=ISSUER,
            leeway=_LEEWAY,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise ValueError("tenant")
        return Principal(
            subject=str(claims["sub"]),
            role=Role(claims["role"]),
            tenant=tenant,
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            token_version=_version(claims.get("ver", 0)),
        )
    except (KeyError, ValueError, TypeError):
        raise InvalidToken("invalid token: bad claims") from None


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("ver")
    return value


def peek_token(token: str) -> Principal:
    """Read a token's claims WITHOUT checking its signature or expiry.

    Only for a device to learn its own identity (device id, tenant, expiry) from the token it was
    given, so it needs no separate configuration. Never use the result to authorise anything:
    the API and the broker call :func:`verify_token`.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        raise InvalidToken("not a QueueCast token") from None
    return _principal(claims)
