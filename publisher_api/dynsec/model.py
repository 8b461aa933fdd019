"""What Mosquitto's dynamic-security plugin must hold so that it enforces our grants: pure.

Mosquitto cannot check our tokens, so every identity gets a broker login of its own whose
password the API *derives* (HMAC-SHA256 of the identity and its revocation state, keyed with
``QUEUECAST_SECRET_KEY``) instead of storing it. Any replica computes the same passwords with
no shared state, and revocation changes the inputs:

- a device: its token id, so rotating the token changes the password; deleting the device (or
  suspending its tenant) deletes the login;
- a user: its token version, so a new password, a role change or a sign-out changes the broker
  password; deleting or disabling the user (or suspending the tenant) deletes the login;
- a tenant's public pages: one password per rotation period (``epoch``), kept in three slots
  (previous, current, next), so a credential handed out during epoch ``n`` works until the end
  of epoch ``n + 1`` and is refused after; the next epoch's is in place before it is handed out;
- the API's publisher: one fixed login.

Roles mirror :mod:`broker.policy` (decided there per connection; here once per identity):
tenant roles read ``tenant/<t>/...`` only, public roles only :func:`protocol.topics.public_topics`,
a device publishes its own presence topic only, the publisher publishes under ``tenant/`` and
the server status. Delivery (``publishClientReceive``) is denied by default, so a message reaches
a client only on a topic one of its roles names: the same defence in depth as
``Grant.may_receive``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime

from protocol import Role
from protocol.server_status import SERVER_STATUS_TOPIC
from protocol.topics import ROOT, device_status_topic, public_topics

PREFIX = "qc-"
"""Every client and role the provisioner owns starts with this; it never touches others (the
admin client that provisions, say)."""
PUBLISHER_USERNAME = f"{PREFIX}publisher"
PUBLIC_SLOTS = 3


@dataclass(frozen=True, slots=True)
class DeviceGrant:
    tenant: str
    device_id: str
    role: Role
    token_id: str


@dataclass(frozen=True, slots=True)
class UserGrant:
    username: str
    role: Role
    tenant: str | None
    token_version: int
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Grants:
    """Who may connect, as the database says now."""

    tenants: frozenset[str]
    suspended: frozenset[str] = frozenset()
    devices: tuple[DeviceGrant, ...] = ()
    users: tuple[UserGrant, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class Acl:
    acltype: str
    topic: str
    allow: bool = True
    priority: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "acltype": self.acltype,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }


@dataclass(frozen=True, slots=True)
class RoleSpec:
    name: str
    acls: frozenset[Acl]


@dataclass(frozen=True, slots=True)
class ClientSpec:
    username: str
    password: str
    roles: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """Kept in the client's ``textname`` (the plugin never returns passwords): when it
        differs, the login is replaced, which also disconnects whoever used the old one. A
        hash of a 256-bit random-looking password gives nothing away."""
        digest = hashlib.sha256(f"{self.password}|{','.join(self.roles)}".encode()).hexdigest()
        return f"queuecast {digest[:32]}"


@dataclass(frozen=True, slots=True)
class Desired:
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    clients: dict[str, ClientSpec] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Login:
    """A broker login handed to a client, and until when it works (``None``: until revoked)."""

    username: str
    password: str
    expires_at: datetime | None


# --- names -----------------------------------------------------------------------------------
def server_status_role() -> str:
    return f"{PREFIX}server-status"


def tenant_role(tenant: str) -> str:
    return f"{PREFIX}tenant:{tenant}"


def public_role(tenant: str) -> str:
    return f"{PREFIX}public:{tenant}"


def device_role(tenant: str, device_id: str) -> str:
    return f"{PREFIX}device:{tenant}:{device_id}"


def all_tenants_role() -> str:
    return f"{PREFIX}all-tenants"


def publisher_role() -> str:
    return f"{PREFIX}publisher"


def device_username(tenant: str, device_id: str) -> str:
    return f"{PREFIX}device:{tenant}:{device_id}"


def user_username(username: str) -> str:
    return f"{PREFIX}user:{username}"


def public_username(tenant: str, slot: int) -> str:
    return f"{PREFIX}public:{tenant}:{slot}"


# --- passwords -------------------------------------------------------------------------------
def derive_password(secret: str, *parts: str) -> str:
    """A password only the holder of ``secret`` can compute; ``parts`` never contain NUL."""
    message = "\x00".join(("queuecast-mqtt-login", *parts)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def device_login(secret: str, device: DeviceGrant) -> Login:
    password = derive_password(secret, "device", device.tenant, device.device_id, device.token_id)
    return Login(device_username(device.tenant, device.device_id), password, None)


def user_login(secret: str, user: UserGrant) -> Login:
    password = derive_password(
        secret, "user", user.username, user.role.value, user.tenant or "", str(user.token_version)
    )
    return Login(user_username(user.username), password, None)


def publisher_login(secret: str) -> Login:
    return Login(PUBLISHER_USERNAME, derive_password(secret, "publisher"), None)


def epoch_of(now: datetime, period_s: int) -> int:
    return int(now.timestamp()) // period_s


def public_login(secret: str, tenant: str, *, epoch: int, period_s: int) -> Login:
    """The login of ``tenant``'s public pages for ``epoch``: it works until the end of the
    epoch after (its slot is given to epoch ``epoch + 3`` then, one epoch ahead)."""
    password = derive_password(secret, "public", tenant, str(period_s), str(epoch))
    expires = datetime.fromtimestamp((epoch + 2) * period_s, UTC)
    return Login(public_username(tenant, epoch % PUBLIC_SLOTS), password, expires)


# --- roles -----------------------------------------------------------------------------------
def _read(topic_filter: str) -> frozenset[Acl]:
    return frozenset(
        {Acl("subscribePattern", topic_filter), Acl("publishClientReceive", topic_filter)}
    )


def _roles_for_tenant(tenant: str) -> list[RoleSpec]:
    everything = f"{ROOT}/{tenant}/#"
    # A pattern "tenant/<t>/#" also admits the filter "tenant/<t>" (MQTT: # matches the parent
    # level); our broker refuses it, so does this literal deny, checked before the pattern.
    bare = Acl("subscribeLiteral", f"{ROOT}/{tenant}", allow=False, priority=10)
    public = frozenset().union(*(_read(f) for f in public_topics(tenant)))
    return [
        RoleSpec(tenant_role(tenant), _read(everything) | {bare}),
        RoleSpec(public_role(tenant), public),
    ]


def _fixed_roles() -> list[RoleSpec]:
    return [
        RoleSpec(server_status_role(), _read(SERVER_STATUS_TOPIC)),
        RoleSpec(
            all_tenants_role(),
            _read(f"{ROOT}/#") | {Acl("subscribeLiteral", ROOT, allow=False, priority=10)},
        ),
        RoleSpec(
            publisher_role(),
            frozenset(
                {
                    Acl("publishClientSend", f"{ROOT}/#"),
                    Acl("publishClientSend", SERVER_STATUS_TOPIC),
                }
            ),
        ),
    ]


def desired_state(grants: Grants, *, secret: str, now: datetime, period_s: int) -> Desired:
    """Every role and login the plugin must hold for ``grants`` at ``now``."""
    roles: dict[str, RoleSpec] = {r.name: r for r in _fixed_roles()}
    clients: dict[str, ClientSpec] = {}

    def add(login: Login, *role_names: str) -> None:
        clients[login.username] = ClientSpec(
            login.username, login.password, (*role_names, server_status_role())
        )

    add(publisher_login(secret), publisher_role())
    epoch = epoch_of(now, period_s)
    for tenant in sorted(grants.tenants):
        roles.update((r.name, r) for r in _roles_for_tenant(tenant))
        for e in (epoch - 1, epoch, epoch + 1):
            add(public_login(secret, tenant, epoch=e, period_s=period_s), public_role(tenant))
    active = grants.tenants - grants.suspended
    for device in grants.devices:
        if device.tenant not in active:
            continue
        own = device_role(device.tenant, device.device_id)
        topic = device_status_topic(device.tenant, device.device_id)
        roles[own] = RoleSpec(own, frozenset({Acl("publishClientSend", topic)}))
        add(device_login(secret, device), tenant_role(device.tenant), own)
    for user in grants.users:
        if user.disabled:
            continue
        if user.role is Role.SUPERADMIN:
            add(user_login(secret, user), all_tenants_role())
        elif user.tenant is not None and user.tenant in active:
            add(user_login(secret, user), tenant_role(user.tenant))
    return Desired(roles, clients)
