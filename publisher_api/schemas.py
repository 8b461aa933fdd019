"""Request and response bodies of the REST API that are not protocol documents. Every field is
validated here, at the edge, so services only ever see well-formed values."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from protocol import CounterStatus, TenantId, Ticket, TicketStatus
from protocol.identifiers import DeviceId
from publisher_api.domain.counters import CloseOutcome
from publisher_api.domain.lifecycle import Placement
from publisher_api.domain.ordering import PriorityMode

LOCALES = ("pt-BR", "en", "es")


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like America/Sao_Paulo)")
    ZoneInfo(value)
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


TimeZone = Annotated[str, AfterValidator(_zone)]
Locale = Literal["pt-BR", "en", "es"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]
CounterNumber = Annotated[int, Field(ge=1, le=999)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
# Passwords set through the API: at least 8 characters (the dev logins are seeded, not set here).
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
UserRoleName = Literal["admin", "operator"]
DeviceRoleName = Literal["totem", "display"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


class TenantIn(_Body):
    id: TenantId
    name: Name
    timezone: TimeZone = "America/Sao_Paulo"
    locale: Locale = "pt-BR"


class TenantPatch(_Body):
    """Tenant settings: names, language, clock, and the queue's priority policy."""

    name: Name | None = None
    timezone: TimeZone | None = None
    locale: Locale | None = None
    ticker: Annotated[str, StringConstraints(max_length=500)] | None = None
    priority_mode: PriorityMode | None = None
    normal_per_priority: Annotated[int, Field(ge=1, le=100)] | None = None
    aging_bound_s: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = Field(
        default=None, description="0 removes the bound"
    )
    call_timeout_s: Annotated[int, Field(ge=0, le=86400)] | None = Field(
        default=None,
        description="A ticket called and never started for this long becomes no_show "
        "(end_reason call_timeout); 0 disables",
    )


class TenantOut(BaseModel):
    id: str
    name: str
    timezone: str
    locale: str
    ticker: str | None
    priority_mode: PriorityMode
    normal_per_priority: int
    aging_bound_s: int | None
    call_timeout_s: int


class ServiceIn(_Body):
    prefix: Prefix
    name: Name
    priority_allowed: bool = False


class ServicePatch(_Body):
    name: Name | None = None
    priority_allowed: bool | None = None


class ServiceOut(BaseModel):
    prefix: str
    name: str
    priority_allowed: bool


ServiceList = Annotated[
    list[Prefix],
    Field(max_length=50, description="Prefixes of the services it serves; empty: all"),
]


class CounterIn(_Body):
    number: CounterNumber
    name: Name
    services: ServiceList = []


class CounterPatch(_Body):
    name: Name | None = None
    services: ServiceList | None = None


class CounterOut(BaseModel):
    """A counter as staff and devices see it: its state, who holds it, the ticket it holds."""

    number: int
    name: str
    status: CounterStatus
    holder: str | None = Field(description="Username of the operator who opened it")
    pause_reason: str | None
    status_since: datetime | None
    services: list[str]
    open_ticket: Ticket | None = Field(description="The ticket it holds (called or in service)")


class CounterOpenIn(_Body):
    takeover: bool = Field(
        default=False, description="Take the counter from the operator who holds it"
    )


class CounterPauseIn(_Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class LifecycleOut(BaseModel):
    """The ticket transition table, as clients enable their buttons from it."""

    transitions: dict[TicketStatus, list[str]] = Field(
        description="Per status, the actions allowed (URL path segments: call, no-show, ...)"
    )
    open_statuses: list[TicketStatus] = Field(description="Statuses a counter holds a ticket in")
    close_outcomes: list[CloseOutcome] = Field(
        description="Outcomes a call may give the ticket its counter still holds (close=)"
    )


class UserIn(_Body):
    username: Username
    password: Password
    role: UserRoleName


class UserPatch(_Body):
    password: Password | None = None
    role: UserRoleName | None = None


class UserOut(BaseModel):
    username: str
    role: str
    tenant: str | None


class DeviceIn(_Body):
    id: DeviceId
    role: DeviceRoleName


class DeviceOut(BaseModel):
    id: str
    role: str


class DeviceWithToken(DeviceOut):
    token: str


class TicketIn(_Body):
    service: Prefix
    priority: bool = False


CloseField = Field(
    default=None,
    description="If the counter still holds a ticket: end it so (completed or no_show) in the "
    "same transaction; without it such a call is refused with counter_busy",
)


class CallIn(_Body):
    counter: CounterNumber
    close: CloseOutcome | None = CloseField


class TransferIn(_Body):
    service: Prefix
    placement: Placement = Placement.BACK


class StatusPatch(_Body):
    status: TicketStatus
    counter: CounterNumber | None = Field(default=None, description="Needed when status is called")
    close: CloseOutcome | None = CloseField
