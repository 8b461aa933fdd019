"""Disabled users (admin): ``PUT/DELETE /api/v1/tenants/{tenant}/users/{username}/disabled``
and the list ``GET /api/v1/tenants/{tenant}/disabled-users``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from publisher_api.deps import AdminAccess, RuntimeDep
from publisher_api.routers.admin import UsernamePath
from publisher_api.services import user_access

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["administration"])


@router.get("/disabled-users", response_model=list[str])
def list_disabled(scope: AdminAccess, runtime: RuntimeDep) -> list[str]:
    return user_access.disabled_users(runtime.writer, scope.tenant)


@router.put("/users/{username}/disabled", status_code=204, response_class=Response)
def disable_user(username: UsernamePath, scope: AdminAccess, runtime: RuntimeDep) -> Response:
    """Refuse the user's sign-in and tokens (live connections closed) until enabled again.
    403 for yourself; 409 ``last_admin`` for the tenant's last enabled admin."""
    user_access.disable(runtime.writer, scope.tenant, username, by=scope.principal.subject)
    return Response(status_code=204)


@router.delete("/users/{username}/disabled", status_code=204, response_class=Response)
def enable_user(username: UsernamePath, scope: AdminAccess, runtime: RuntimeDep) -> Response:
    user_access.enable(runtime.writer, scope.tenant, username)
    return Response(status_code=204)
