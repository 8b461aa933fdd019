"""The demo tenant ``make run`` seeds in dev mode (QUEUECAST_ENV=dev). Outside dev mode the API
refuses to start while any of these logins still works (publisher_api.bootstrap.seed)."""

from __future__ import annotations

from dataclasses import dataclass

from publisher_api.schemas import CounterIn, DeviceIn, ServiceIn, TenantIn


@dataclass(frozen=True)
class DevUser:
    username: str
    password: str
    role: str
    tenant: str | None


@dataclass(frozen=True)
class DevTenant:
    tenant: TenantIn
    services: tuple[ServiceIn, ...]
    counters: tuple[CounterIn, ...]
    users: tuple[DevUser, ...]
    devices: tuple[DeviceIn, ...]


DEV_TENANT = DevTenant(
    tenant=TenantIn(id="default", name="QueueCast", timezone="America/Sao_Paulo", locale="pt-BR"),
    services=(
        ServiceIn(prefix="A", name="Atendimento geral", priority_allowed=False),
        ServiceIn(prefix="P", name="Prioritário", priority_allowed=True),
    ),
    # Counters start closed: an operator opens the one they sit at (POST .../counters/{n}/open).
    counters=(
        CounterIn(number=1, name="Guichê 1"),
        CounterIn(number=2, name="Guichê 2"),
        CounterIn(number=3, name="Sala de Coleta 3"),
    ),
    users=(
        DevUser("root", "root", "superadmin", None),
        DevUser("admin", "admin", "admin", "default"),
        DevUser("operator", "operator", "operator", "default"),
    ),
    devices=(DeviceIn(id="totem-1", role="totem"), DeviceIn(id="display-1", role="display")),
)
