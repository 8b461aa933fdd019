"""FastAPI dependencies as ``Annotated`` aliases, shared by every router (ours, the realtime
router and the pages router).

- ``RuntimeDep``, ``SettingsDep``, ``SessionDep``: the process's handles.
- ``CurrentPrincipal``: a verified, still-active bearer token (401 otherwise).
- ``TenantAccess`` and the role-specific aliases (``IssuerAccess``, ``OperatorAccess``,
  ``AdminAccess``): the ``{tenant}`` path parameter checked against the principal — 403 for
  another tenant's principal or a role that may not, 404 for an unknown tenant.
- ``PublicTenant``: a tenant that exists (404 otherwise), for public read-only endpoints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from config import Settings
from protocol import InvalidToken, Principal, Role
from protocol.identifiers import ID_PATTERN, ID_RULE
from publisher_api.errors import Forbidden, NotFound, Unauthorized
from publisher_api.lifespan_state import running as running  # re-exported: deps.running
from publisher_api.realtime import Realtime
from publisher_api.runtime import Runtime

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a URL, not a password
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


# Cheap dependencies are ``async def`` on purpose: FastAPI runs every plain ``def`` dependency in
# the thread pool, and each such hop costs more than the work here. What remains sync is the
# endpoint itself (one hop), where database work happens.


def realtime_of(app: Starlette) -> Realtime | None:
    """The running broker or external connection (``None`` outside the lifespan)."""
    runtime = running(app)
    return None if runtime is None else runtime.realtime


async def get_runtime(request: Request) -> Runtime:
    runtime = running(request.app)
    if runtime is None:  # only between create_app and the lifespan start
        raise RuntimeError("the app's lifespan has not started")
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    """A session that touches the database only when the endpoint uses it (lazily)."""
    with runtime.database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
BearerToken = Annotated[str | None, Depends(_bearer)]

TenantPath = Annotated[
    str,
    Path(
        pattern=ID_PATTERN,
        description=f"Tenant id: {ID_RULE}",
        examples=["default"],
    ),
]


def authenticate(token: str | None, runtime: Runtime) -> Principal:
    """The principal behind a bearer token, or 401 with the reason."""
    if not token:
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    try:
        principal = runtime.tokens.verify(token)
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from None
    if principal.role in (Role.PUBLIC, Role.PUBLISHER):
        raise Forbidden(f"a {principal.role.value} token cannot use the REST API")
    if not runtime.directory.token_active(principal):
        raise Unauthorized("token revoked (device rotated or removed, or user changed)")
    return principal


async def current_principal(token: BearerToken, runtime: RuntimeDep) -> Principal:
    return authenticate(token, runtime)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True, slots=True)
class TenantScope:
    tenant: str
    principal: Principal


def _check_tenant(tenant: str, principal: Principal | None, runtime: Runtime) -> None:
    if principal is not None and not principal.may_act_in(tenant):
        raise Forbidden(f"this token belongs to tenant {principal.tenant}, not {tenant}")
    if not runtime.directory.tenant_exists(tenant):
        raise NotFound("tenant", tenant)


def authorize(
    tenant: str, token: str | None, runtime: Runtime, allowed: frozenset[Role]
) -> TenantScope:
    """The principal behind ``token``, of a role in ``allowed``, acting in ``tenant``; 401, 403
    or 404 otherwise."""
    principal = authenticate(token, runtime)
    _check_tenant(tenant, principal, runtime)
    if principal.role not in allowed:
        raise Forbidden(
            f"role {principal.role.value} may not do this "
            f"(needs {' or '.join(sorted(r.value for r in allowed))})"
        )
    return TenantScope(tenant, principal)


def tenant_scope(allowed: frozenset[Role]) -> Callable[..., Awaitable[TenantScope]]:
    """A dependency: authenticated principal of a role in ``allowed`` acting in ``{tenant}``."""

    async def dependency(
        tenant: TenantPath, token: BearerToken, runtime: RuntimeDep
    ) -> TenantScope:
        return authorize(tenant, token, runtime, allowed)

    return dependency


async def public_tenant(tenant: TenantPath, runtime: RuntimeDep) -> str:
    _check_tenant(tenant, None, runtime)
    return tenant


STAFF_ROLES = frozenset({Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR})
ISSUER_ROLES = STAFF_ROLES | {Role.TOTEM}
TenantAccess = Annotated[
    TenantScope, Depends(tenant_scope(STAFF_ROLES | {Role.TOTEM, Role.DISPLAY}))
]
IssuerAccess = Annotated[TenantScope, Depends(tenant_scope(ISSUER_ROLES))]
OperatorAccess = Annotated[TenantScope, Depends(tenant_scope(STAFF_ROLES))]
AdminAccess = Annotated[
    TenantScope, Depends(tenant_scope(frozenset({Role.SUPERADMIN, Role.ADMIN})))
]
PublicTenant = Annotated[str, Depends(public_tenant)]


async def require_superadmin(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.SUPERADMIN:
        raise Forbidden("only a superadmin may do this")
    return principal


SuperAdmin = Annotated[Principal, Depends(require_superadmin)]
