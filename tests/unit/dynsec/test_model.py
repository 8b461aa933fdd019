"""The dynamic-security state computed from grants, and the commands that reach it: pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from protocol import Role
from publisher_api.dynsec.model import (
    PUBLIC_SLOTS,
    ClientSpec,
    Desired,
    DeviceGrant,
    Grants,
    UserGrant,
    desired_state,
    device_login,
    public_login,
    tenant_role,
    user_login,
)
from publisher_api.dynsec.reconcile import Actual, ActualClient, parse_actual, plan

SECRET = "unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
PERIOD = 3600
DEVICE = DeviceGrant("a", "totem-1", Role.TOTEM, "tok-1")
OPERATOR = UserGrant("op", Role.OPERATOR, "a", 3)
GRANTS = Grants(
    tenants=frozenset({"a", "b"}),
    devices=(DEVICE, DeviceGrant("b", "totem-1", Role.TOTEM, "tok-9")),
    users=(OPERATOR, UserGrant("root", Role.SUPERADMIN, None, 0)),
)


def state(grants: Grants = GRANTS, now: datetime = NOW) -> Desired:
    return desired_state(grants, secret=SECRET, now=now, period_s=PERIOD)


def held(desired: Desired) -> Actual:
    """What the plugin lists once ``desired`` has been applied."""
    return Actual(
        roles={name: role.acls for name, role in desired.roles.items()},
        clients={
            name: ActualClient(name, c.fingerprint, frozenset(c.roles))
            for name, c in desired.clients.items()
        },
    )


def test_every_identity_has_its_own_login_and_same_named_devices_do_not_collide() -> None:
    clients = state().clients
    assert {
        "qc-publisher",
        "qc-device:a:totem-1",
        "qc-device:b:totem-1",
        "qc-user:op",
        "qc-user:root",
        *(f"qc-public:{t}:{slot}" for t in "ab" for slot in range(PUBLIC_SLOTS)),
    } == set(clients)
    passwords = [c.password for c in clients.values()]
    assert len(set(passwords)) == len(passwords)
    assert clients["qc-device:a:totem-1"].roles == (
        "qc-tenant:a",
        "qc-device:a:totem-1",
        "qc-server-status",
    )
    assert clients["qc-user:root"].roles == ("qc-all-tenants", "qc-server-status")


def test_a_synced_state_needs_no_command_and_a_revocation_replaces_the_login() -> None:
    desired = state()
    assert plan(desired, held(desired)) == []
    rotated = state(replace(GRANTS, devices=(replace(DEVICE, token_id="tok-2"),)))
    commands = plan(rotated, held(desired))
    assert {"command": "deleteClient", "username": "qc-device:a:totem-1"} in commands
    create = next(
        c
        for c in commands
        if c["command"] == "createClient" and c["username"] == "qc-device:a:totem-1"
    )
    assert create["password"] == device_login(SECRET, replace(DEVICE, token_id="tok-2")).password
    assert create["password"] != device_login(SECRET, DEVICE).password
    # tenant b's device is gone from the grants given: its login and its role go too
    assert {"command": "deleteClient", "username": "qc-device:b:totem-1"} in commands
    assert {"command": "deleteRole", "rolename": "qc-device:b:totem-1"} in commands


def test_user_changes_disable_and_suspension() -> None:
    bumped = user_login(SECRET, replace(OPERATOR, token_version=4))
    assert bumped.password != user_login(SECRET, OPERATOR).password
    disabled = state(replace(GRANTS, users=(replace(OPERATOR, disabled=True),)))
    assert "qc-user:op" not in disabled.clients
    suspended = state(replace(GRANTS, suspended=frozenset({"a"})))
    assert "qc-user:op" not in suspended.clients
    assert "qc-device:a:totem-1" not in suspended.clients
    assert "qc-public:a:0" in suspended.clients  # as on our broker: pages keep reading
    assert "qc-device:b:totem-1" in suspended.clients


def test_public_logins_rotate_through_three_slots() -> None:
    epoch = int(NOW.timestamp()) // PERIOD
    login = public_login(SECRET, "a", epoch=epoch, period_s=PERIOD)
    assert login.expires_at == datetime.fromtimestamp((epoch + 2) * PERIOD, UTC)
    held_now = {c.password for c in state().clients.values()}
    for e in (epoch - 1, epoch, epoch + 1):
        assert public_login(SECRET, "a", epoch=e, period_s=PERIOD).password in held_now
    assert public_login(SECRET, "a", epoch=epoch - 2, period_s=PERIOD).password not in held_now
    later = state(now=datetime.fromtimestamp((epoch + 2) * PERIOD, UTC))
    assert login.password not in {c.password for c in later.clients.values()}
    assert login.username in later.clients  # its slot now holds epoch + 3


def test_only_our_names_are_ever_touched_and_roles_come_before_clients() -> None:
    actual = parse_actual(
        [
            {"username": "queuecast-admin", "roles": [{"rolename": "queuecast-admin"}]},
            {"username": "qc-user:gone", "textname": "x", "roles": []},
        ],
        [{"rolename": "queuecast-admin", "acls": []}, {"rolename": "qc-tenant:gone", "acls": []}],
    )
    commands = plan(state(), actual)
    touched = {c.get("username") or c.get("rolename") for c in commands}
    assert "queuecast-admin" not in touched
    assert {"command": "deleteClient", "username": "qc-user:gone"} in commands
    assert commands[-1] == {"command": "deleteRole", "rolename": "qc-tenant:gone"}
    kinds = [c["command"] for c in commands]
    assert kinds.index("createClient") > max(i for i, k in enumerate(kinds) if k == "createRole")


def test_tenant_roles_read_their_tenant_only() -> None:
    role = state().roles[tenant_role("a")]
    allowed = {(a.acltype, a.topic) for a in role.acls if a.allow}
    assert allowed == {
        ("subscribePattern", "tenant/a/#"),
        ("publishClientReceive", "tenant/a/#"),
    }


def test_the_fingerprint_follows_password_and_roles() -> None:
    spec = ClientSpec("u", "p", ("r",))
    assert spec.fingerprint == ClientSpec("u", "p", ("r",)).fingerprint
    assert spec.fingerprint != ClientSpec("u", "q", ("r",)).fingerprint
    assert spec.fingerprint != ClientSpec("u", "p", ("r", "s")).fingerprint
    assert "p" not in spec.fingerprint.split()[0]
