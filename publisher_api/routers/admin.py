"""Administration: tenants (superadmin), and per tenant its settings, services, counters, users
and devices (admin of that tenant, or superadmin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from protocol.identifiers import ID_PATTERN, ID_RULE
from publisher_api import schemas
from publisher_api.deps import (
    AdminAccess,
    CurrentPrincipal,
    RuntimeDep,
    SessionDep,
    SuperAdmin,
    TenantAccess,
    TenantPath,
)
from publisher_api.services import admin

router = APIRouter(prefix="/api/v1/tenants", tags=["administration"])

PrefixPath = Annotated[str, Path(pattern=r"^[A-Z]{1,3}$", description="Service prefix")]
CounterPath = Annotated[int, Path(ge=1, le=999)]
UsernamePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
DevicePath = Annotated[str, Path(pattern=ID_PATTERN, description=ID_RULE)]


# --- tenants ----------------------------------------------------------------------------------


@router.post("", status_code=201, response_model=schemas.TenantOut)
def create_tenant(body: schemas.TenantIn, _: SuperAdmin, runtime: RuntimeDep) -> schemas.TenantOut:
    return admin.create_tenant(runtime.writer, body)


@router.get("", response_model=list[schemas.TenantOut])
def list_tenants(principal: CurrentPrincipal, session: SessionDep) -> list[schemas.TenantOut]:
    """Every tenant for a superadmin; one's own tenant for anyone else."""
    tenants = admin.list_tenants(session)
    return [t for t in tenants if principal.may_act_in(t.id)]


@router.get("/{tenant}", response_model=schemas.TenantOut)
def get_tenant(scope: TenantAccess, session: SessionDep) -> schemas.TenantOut:
    return admin.get_tenant(session, scope.tenant)


@router.patch("/{tenant}", response_model=schemas.TenantOut)
def update_tenant(
    body: schemas.TenantPatch, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.TenantOut:
    """Tenant settings: name, time zone, locale, ticker, priority policy, aging bound and call
    timeout."""
    return admin.update_tenant(runtime.writer, scope.tenant, body)


@router.delete("/{tenant}", status_code=204, response_class=Response)
def delete_tenant(tenant: TenantPath, _: SuperAdmin, runtime: RuntimeDep) -> Response:
    admin.delete_tenant(runtime.writer, tenant)
    return Response(status_code=204)


# --- services ---------------------------------------------------------------------------------


@router.get("/{tenant}/services", response_model=list[schemas.ServiceOut])
def list_services(scope: TenantAccess, session: SessionDep) -> list[schemas.ServiceOut]:
    return admin.list_services(session, scope.tenant)


@router.post("/{tenant}/services", status_code=201, response_model=schemas.ServiceOut)
def create_service(
    body: schemas.ServiceIn, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.ServiceOut:
    return admin.create_service(runtime.writer, scope.tenant, body)


@router.patch("/{tenant}/services/{prefix}", response_model=schemas.ServiceOut)
def update_service(
    prefix: PrefixPath, body: schemas.ServicePatch, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.ServiceOut:
    return admin.update_service(runtime.writer, scope.tenant, prefix, body)


@router.delete("/{tenant}/services/{prefix}", status_code=204, response_class=Response)
def delete_service(prefix: PrefixPath, scope: AdminAccess, runtime: RuntimeDep) -> Response:
    admin.delete_service(runtime.writer, scope.tenant, prefix)
    return Response(status_code=204)


# --- counters ---------------------------------------------------------------------------------


@router.post("/{tenant}/counters", status_code=201, response_model=schemas.CounterOut)
def create_counter(
    body: schemas.CounterIn, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.CounterOut:
    return admin.create_counter(runtime.writer, scope.tenant, body)


@router.patch("/{tenant}/counters/{number}", response_model=schemas.CounterOut)
def update_counter(
    number: CounterPath, body: schemas.CounterPatch, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.CounterOut:
    return admin.update_counter(runtime.writer, scope.tenant, number, body)


@router.delete("/{tenant}/counters/{number}", status_code=204, response_class=Response)
def delete_counter(number: CounterPath, scope: AdminAccess, runtime: RuntimeDep) -> Response:
    admin.delete_counter(runtime.writer, scope.tenant, number)
    return Response(status_code=204)


# --- users ------------------------------------------------------------------------------------


@router.get("/{tenant}/users", response_model=list[schemas.UserOut])
def list_users(scope: AdminAccess, session: SessionDep) -> list[schemas.UserOut]:
    return admin.list_users(session, scope.tenant)


@router.post("/{tenant}/users", status_code=201, response_model=schemas.UserOut)
def create_user(body: schemas.UserIn, scope: AdminAccess, runtime: RuntimeDep) -> schemas.UserOut:
    return admin.create_user(runtime.writer, scope.tenant, body)


@router.patch("/{tenant}/users/{username}", response_model=schemas.UserOut)
def update_user(
    username: UsernamePath, body: schemas.UserPatch, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.UserOut:
    return admin.update_user(runtime.writer, scope.tenant, username, body)


@router.delete("/{tenant}/users/{username}", status_code=204, response_class=Response)
def delete_user(username: UsernamePath, scope: AdminAccess, runtime: RuntimeDep) -> Response:
    admin.delete_user(runtime.writer, scope.tenant, username, acting=scope.principal.subject)
    return Response(status_code=204)


# --- devices ----------------------------------------------------------------------------------


@router.get("/{tenant}/devices", response_model=list[schemas.DeviceOut])
def list_devices(scope: AdminAccess, session: SessionDep) -> list[schemas.DeviceOut]:
    return admin.list_devices(session, scope.tenant)


@router.post("/{tenant}/devices", status_code=201, response_model=schemas.DeviceWithToken)
def create_device(
    body: schemas.DeviceIn, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.DeviceWithToken:
    """Register a totem or display; the response carries its token (HTTP bearer and MQTT
    password, with the device id as MQTT username). Keep it: it is shown once."""
    return admin.create_device(runtime.writer, runtime.settings, scope.tenant, body)


@router.post("/{tenant}/devices/{device_id}/token", response_model=schemas.DeviceWithToken)
def rotate_device_token(
    device_id: DevicePath, scope: AdminAccess, runtime: RuntimeDep
) -> schemas.DeviceWithToken:
    """A new token for the device; the old one stops working immediately."""
    return admin.rotate_device_token(runtime.writer, runtime.settings, scope.tenant, device_id)


@router.delete("/{tenant}/devices/{device_id}", status_code=204, response_class=Response)
def delete_device(device_id: DevicePath, scope: AdminAccess, runtime: RuntimeDep) -> Response:
    admin.delete_device(runtime.writer, scope.tenant, device_id)
    return Response(status_code=204)
