"""Bodies of the admin console's endpoints (pairing, branding, suspension): validated at the
edge like ``schemas``, kept in their own module."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from protocol import TenantId
from protocol.identifiers import DeviceId
from publisher_api.schemas import DeviceRoleName, _Body

PairingCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
AccentColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$", to_lower=True)]


class PairingCodeIn(_Body):
    id: DeviceId
    role: DeviceRoleName


class PairingCodeOut(BaseModel):
    code: str
    tenant: str
    id: str
    role: str
    expires_at: datetime


class PairIn(_Body):
    tenant: TenantId
    code: PairingCode


class PairOut(BaseModel):
    tenant: str
    id: str
    role: str
    token: str
    expires_in: int


class BrandingIn(_Body):
    accent_color: AccentColor | None = None


class BrandingOut(BaseModel):
    accent_color: str | None
    logo_url: str | None


class SuspensionOut(BaseModel):
    tenant: str
    suspended_by: str
    suspended_at: datetime
