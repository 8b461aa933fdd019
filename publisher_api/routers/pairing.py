"""Device pairing: ``POST /api/v1/tenants/{tenant}/pairing-codes`` (admin) shows a one-time
code; ``POST /api/v1/pair`` (the device, no credentials) exchanges it for its device token. The
rules are in :mod:`publisher_api.services.pairing`."""

from __future__ import annotations

from fastapi import APIRouter

from publisher_api import site_schemas
from publisher_api.deps import AdminAccess, RuntimeDep
from publisher_api.services import pairing

router = APIRouter(prefix="/api/v1", tags=["pairing"])


@router.post(
    "/tenants/{tenant}/pairing-codes", status_code=201, response_model=site_schemas.PairingCodeOut
)
def create_pairing_code(
    body: site_schemas.PairingCodeIn, scope: AdminAccess, runtime: RuntimeDep
) -> site_schemas.PairingCodeOut:
    """A six-digit code, valid 10 minutes and once, that pairs a device with this id and role
    (creating it, or giving it a new token if it exists)."""
    return pairing.create_code(
        runtime.writer,
        scope.tenant,
        body,
        created_by=scope.principal.subject,
        now=pairing.utc_now(),
    )


@router.post("/pair", response_model=site_schemas.PairOut)
def pair_device(body: site_schemas.PairIn, runtime: RuntimeDep) -> site_schemas.PairOut:
    """The device's own token for a valid code; 400 ``pairing_code_invalid`` for a wrong,
    expired, used or void code, or one of another tenant (the same answer for each)."""
    return pairing.pair(runtime.writer, runtime.settings, body, now=pairing.utc_now())
