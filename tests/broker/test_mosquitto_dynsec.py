"""Mosquitto with dynamic security, provisioned from our grants: who may connect, and what is
cut off when a grant goes away. (What it may read and write once connected is the shared
matrix in ``test_isolation.py``.)

Where Mosquitto differs from our broker by design, the test says so and shows that no message
crosses tenants anyway: it accepts a CONNECT whose Will names a topic the client may not
publish (and then never publishes that Will), and a client id used by two identities
disconnects the older connection instead of keeping two sessions.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from protocol import Role
from protocol.broker_url import BrokerAddress
from protocol.topics import device_status_topic, queue_topic
from publisher_api.dynsec.control import DynsecControl
from publisher_api.dynsec.model import PUBLIC_SLOTS, device_login, public_login
from publisher_api.dynsec.provisioner import Provisioner
from tests.broker.harness import token
from tests.support.dynsec import (
    PERIOD_S,
    SECRET,
    START_MOSQUITTO,
    Provisioned,
    provisioned,
    requires_dynsec,
)
from tests.support.mqtt import ConnectRefused, Recorder

pytestmark = [requires_dynsec, pytest.mark.external_broker]

TRANSPORTS = ["tcp", "websockets"]
REFUSED_AT_CONNECT = r"(?i)not authori[sz]ed|bad user ?name or password"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Provisioned]:
    with provisioned(tmp_path / "mosquitto") as running:
        yield running


def client(
    m: Provisioned, username: str | None, password: str | None, transport: str = "tcp", **kw: Any
) -> Recorder:
    return m.broker.client(username, password, transport, **kw)


def wait_disconnected(recorder: Recorder, timeout: float = 10.0) -> bool:
    recorder.client.reconnect_delay_set(60, 60)  # observe the cut, not paho's reconnect
    deadline = time.monotonic() + timeout
    while not recorder.disconnected.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    return recorder.disconnected.is_set()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connect_is_refused_without_a_provisioned_login(
    mosquitto: Provisioned, transport: str
) -> None:
    device = mosquitto.login(Role.DISPLAY, "a", "disp-a")
    jwt = token(Role.DISPLAY, "a", "disp-a")  # our token is no Mosquitto password
    forged = device_login(
        "someone-elses-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        mosquitto.grants.devices[("a", "disp-a")],
    )
    for username, password in [
        (None, None),  # anonymous
        (device.username, None),
        (device.username, ""),
        (device.username, "garbage"),
        (device.username, jwt),
        (device.username, forged.password),
        ("disp-a", device.password),  # the bare device id is nobody
        ("queuecast-admin", device.password),
    ]:
        with pytest.raises(ConnectRefused, match=REFUSED_AT_CONNECT):
            client(mosquitto, username, password, transport).connect()
    client(mosquitto, device.username, device.password, transport).connect().close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_rotated_device_is_cut_off_and_its_old_login_refused(
    mosquitto: Provisioned, clients: list[Recorder], transport: str
) -> None:
    old = mosquitto.login(Role.TOTEM, "a", "totem-1")
    live = client(mosquitto, old.username, old.password, transport).connect()
    clients.append(live)
    assert live.subscribe(queue_topic("a")) == [1]

    mosquitto.rotate_device("a", "totem-1")

    assert wait_disconnected(live), "the revoked device's session is still open"
    with pytest.raises(ConnectRefused, match=REFUSED_AT_CONNECT):
        client(mosquitto, old.username, old.password, transport).connect()
    new = device_login(
        SECRET,
        mosquitto.grants.devices[("a", "totem-1")],
    )
    assert new.username == old.username
    assert new.password != old.password
    client(mosquitto, new.username, new.password, transport).connect().close()


@pytest.mark.parametrize("revocation", ["deleted", "disabled", "tenant_suspended"])
def test_a_revoked_user_or_device_is_cut_off_and_refused(
    mosquitto: Provisioned, clients: list[Recorder], revocation: str
) -> None:
    user = mosquitto.login(Role.OPERATOR, "a", "op-a")
    device = mosquitto.login(Role.DISPLAY, "a", "disp-a")
    bystander = mosquitto.login(Role.OPERATOR, "b", "op-b")  # another tenant: untouched
    live = [client(mosquitto, x.username, x.password).connect() for x in (user, device, bystander)]
    clients.extend(live)

    grants = mosquitto.grants
    with grants.lock:
        if revocation == "deleted":
            del grants.users["op-a"]
            del grants.devices[("a", "disp-a")]
        elif revocation == "disabled":
            grants.users["op-a"] = replace(grants.users["op-a"], disabled=True)
            del grants.devices[("a", "disp-a")]  # devices are revoked by rotation or deletion
        else:
            grants.suspended.add("a")
    mosquitto.sync()

    assert wait_disconnected(live[0])
    assert wait_disconnected(live[1])
    for login in (user, device):
        with pytest.raises(ConnectRefused, match=REFUSED_AT_CONNECT):
            client(mosquitto, login.username, login.password).connect()
    assert not live[2].disconnected.is_set()
    if revocation == "tenant_suspended":  # as on our broker: public pages keep reading
        public = mosquitto.login(Role.PUBLIC, "a")
        client(mosquitto, public.username, public.password).connect().close()


def test_public_logins_rotate_and_a_deleted_tenant_leaves_nothing(
    mosquitto: Provisioned, clients: list[Recorder]
) -> None:
    first = mosquitto.login(Role.PUBLIC, "a")
    assert first.expires_at is not None
    page = client(mosquitto, first.username, first.password).connect()
    clients.append(page)

    mosquitto.clock.now += timedelta(seconds=PERIOD_S)  # next period: still valid
    mosquitto.sync()
    second = mosquitto.login(Role.PUBLIC, "a")
    assert second.password != first.password
    assert not page.disconnected.is_set()
    for login in (first, second):
        client(mosquitto, login.username, login.password).connect().close()

    mosquitto.clock.now = first.expires_at + timedelta(seconds=1)  # past its expiry
    mosquitto.sync()
    assert wait_disconnected(page), "an expired public login kept its session"
    with pytest.raises(ConnectRefused, match=REFUSED_AT_CONNECT):
        client(mosquitto, first.username, first.password).connect()
    client(mosquitto, second.username, second.password).connect().close()
    third = mosquitto.login(Role.PUBLIC, "a")
    client(mosquitto, third.username, third.password).connect().close()

    with mosquitto.grants.lock:
        mosquitto.grants.tenants.discard("a")
    mosquitto.sync()
    with pytest.raises(ConnectRefused, match=REFUSED_AT_CONNECT):
        client(mosquitto, third.username, third.password).connect()
    listed = mosquitto.provisioner.control.run(
        [{"command": "listClients"}, {"command": "listRoles"}]
    )
    names = [*listed[0]["data"]["clients"], *listed[1]["data"]["roles"]]
    assert [n for n in names if ":a:" in n or n.endswith(":a")] == []
    assert sum(1 for n in names if n.startswith("qc-public:b:")) == PUBLIC_SLOTS


def test_a_public_login_of_one_tenant_is_nobody_in_another(mosquitto: Provisioned) -> None:
    epoch = int(mosquitto.clock().timestamp()) // PERIOD_S
    a = public_login(
        SECRET,
        "a",
        epoch=epoch,
        period_s=PERIOD_S,
    )
    b = mosquitto.login(Role.PUBLIC, "b")
    with pytest.raises(ConnectRefused, match=REFUSED_AT_CONNECT):
        client(mosquitto, b.username, a.password).connect()


def test_a_will_outside_own_topics_is_never_published(
    mosquitto: Provisioned, clients: list[Recorder]
) -> None:
    """Mosquitto accepts the CONNECT (our broker refuses it) but checks the Will against the
    client's publish rights when it fires: nothing reaches tenant B or another device."""
    watcher_b = mosquitto.login(Role.OPERATOR, "b", "op-b")
    watcher_a = mosquitto.login(Role.OPERATOR, "a", "op-a")
    totem = mosquitto.login(Role.TOTEM, "a", "totem-1")
    wb = client(mosquitto, watcher_b.username, watcher_b.password).connect()
    wa = client(mosquitto, watcher_a.username, watcher_a.password).connect()
    clients.extend([wb, wa])
    assert wb.subscribe("tenant/b/#") == [1]
    assert wa.subscribe("tenant/a/#") == [1]
    for will_topic in (
        device_status_topic("b", "totem-1"),
        device_status_topic("a", "other"),
        queue_topic("a"),
    ):
        intruder = client(
            mosquitto, totem.username, totem.password, will=(will_topic, b"forged-will", 1, True)
        ).connect()
        intruder.client.loop_stop()
        sock = intruder.client.socket()
        assert sock is not None
        sock.close()
    own = client(
        mosquitto,
        totem.username,
        totem.password,
        will=(device_status_topic("a", "totem-1"), b"own-will", 1, True),
    ).connect()
    own.client.loop_stop()
    sock = own.client.socket()
    assert sock is not None
    sock.close()
    wa.wait_for(lambda m: m.payload == b"own-will")
    assert [m.payload for m in wa.drain(0.3)] == [b"own-will"]
    assert wb.drain(0) == []


def test_a_client_id_shared_across_tenants_carries_no_message(
    mosquitto: Provisioned, clients: list[Recorder]
) -> None:
    """Mosquitto resolves a client-id collision by closing the older connection, whoever it
    belongs to (our broker keeps one session per identity). Nothing crosses tenants: a resumed
    session keeps its subscriptions, but delivery is checked against the new login's roles."""
    publisher = mosquitto.login(Role.PUBLISHER, None)
    b_login = mosquitto.login(Role.DISPLAY, "b", "screen")
    a_login = mosquitto.login(Role.DISPLAY, "a", "screen")
    pub = client(mosquitto, publisher.username, publisher.password).connect()
    clients.append(pub)
    b_screen = client(
        mosquitto, b_login.username, b_login.password, client_id="screen", clean_session=False
    ).connect()
    clients.append(b_screen)
    assert b_screen.subscribe("tenant/b/#") == [1]
    b_screen.close()  # B's persistent session stays, subscribed to tenant/b/#

    a_screen = client(
        mosquitto, a_login.username, a_login.password, client_id="screen", clean_session=False
    ).connect()
    clients.append(a_screen)
    pub.publish(queue_topic("b"), b"B-only", retain=True)
    pub.publish(queue_topic("a"), b"A-state", retain=True)
    assert a_screen.subscribe(queue_topic("a")) == [1]
    a_screen.wait_for(lambda m: m.payload == b"A-state")
    assert [m.payload for m in a_screen.drain(0.5) if m.topic.startswith("tenant/b/")] == []


def test_another_replica_computes_the_same_state_and_changes_nothing(
    mosquitto: Provisioned,
) -> None:
    """Replicas share no state but the database and the key: a second provisioner (another
    API process) finds the broker already as it would make it, and a revocation synced by one
    is not undone by the other."""
    mosquitto.login(Role.TOTEM, "a", "totem-1")
    mosquitto.login(Role.OPERATOR, "b", "op-b")
    env = mosquitto.broker.env
    control = DynsecControl(
        BrokerAddress("127.0.0.1", mosquitto.broker.tcp_port),
        username=env["QUEUECAST_MQTT_DYNSEC_ADMIN_USERNAME"],
        password=env["QUEUECAST_MQTT_DYNSEC_ADMIN_PASSWORD"],
    )
    other = Provisioner(
        control,
        mosquitto.grants.snapshot,
        secret=SECRET,
        period_s=PERIOD_S,
        interval_s=3600,
        clock=mosquitto.clock,
    )
    control.start()
    try:
        assert control.wait_connected(10)
        assert other.sync_once() == 0
        old = mosquitto.login(Role.TOTEM, "a", "totem-1")
        mosquitto.rotate_device("a", "totem-1")
        assert other.sync_once() == 0
        with pytest.raises(ConnectRefused, match=REFUSED_AT_CONNECT):
            client(mosquitto, old.username, old.password).connect()
    finally:
        control.stop()


def test_start_mosquitto_keeps_the_admin_to_administration_and_its_secrets_private(
    mosquitto: Provisioned, clients: list[Recorder]
) -> None:
    env = mosquitto.broker.env
    assert env["QUEUECAST_MQTT_EXTERNAL_URL"] == f"mqtt://127.0.0.1:{mosquitto.broker.tcp_port}"
    assert env["QUEUECAST_MQTT_PUBLIC_WS_URL"].endswith(f":{mosquitto.broker.ws_port}/mqtt")
    assert (mosquitto.broker.vardir / "mosquitto.env").stat().st_mode & 0o077 == 0
    folder = mosquitto.broker.vardir / "mosquitto"
    assert (folder / "dynamic-security.json").stat().st_mode & 0o077 == 0
    admin = client(
        mosquitto,
        env["QUEUECAST_MQTT_DYNSEC_ADMIN_USERNAME"],
        env["QUEUECAST_MQTT_DYNSEC_ADMIN_PASSWORD"],
    ).connect()
    clients.append(admin)
    for topic_filter in ("#", "tenant/#", "tenant/a/queue", "$SYS/#"):
        assert admin.subscribe(topic_filter) == [0x80]


@pytest.mark.parametrize(
    "argv",
    [[], ["only-a-dir"], ["dir", "1883", "1883"], ["dir", "x", "8083"], ["dir", "0", "8083"]],
)
def test_start_mosquitto_refuses_bad_arguments(tmp_path: Path, argv: list[str]) -> None:
    done = subprocess.run(
        [str(START_MOSQUITTO), *[str(tmp_path / a) if a == "dir" else a for a in argv]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "TCP_PORT" in done.stderr
    assert not (tmp_path / "dir" / "mosquitto.env").exists()
