"""No message of tenant B reaches a client of tenant A, by any path, over TCP and WebSocket.

Paths covered: wildcard subscriptions, retained messages pushed at CONNECT (amqtt walks every
filter in the broker), retained delivery at SUBSCRIBE, live publishes, Will messages, $SYS,
persistent-session resume, and client-id collisions. Every test also proves that the same
client *does* receive its own tenant's messages, so "nothing arrived" cannot pass by accident.

The tests that take ``target`` run twice: on our embedded broker (identities are tokens) and on
Debian's Mosquitto with the dynamic-security plugin provisioned from the same grants
(identities are the broker logins ``publisher_api.dynsec`` derives). What differs on Mosquitto
by design is tested in ``test_mosquitto_dynsec.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from protocol import Role
from protocol.topics import device_status_topic, events_topic, queue_topic, ticket_topic
from tests.broker.harness import (
    FOREIGN_FILTERS,
    OTHER_SECRET,
    BrokerThread,
    broker_settings,
    payload_is,
    token,
)
from tests.broker.targets import Target
from tests.support.mqtt import ConnectRefused, Recorder

REFUSED = 0x80
TENANT_A_ROLES = [Role.ADMIN, Role.OPERATOR, Role.TOTEM, Role.DISPLAY, Role.PUBLIC]
TRANSPORTS = ["tcp", "websockets"]


def own_filter(role: Role) -> str:
    return queue_topic("a") if role is Role.PUBLIC else "tenant/a/#"


def abrupt_close(client: Recorder) -> None:
    """Drop the TCP connection without DISCONNECT, as a crashed device would."""
    client.client.loop_stop()
    sock = client.client.socket()
    assert sock is not None
    sock.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("role", TENANT_A_ROLES)
def test_no_path_leaks_tenant_b_to_a_client_of_tenant_a(
    target: Target, clients: list[Recorder], role: Role, transport: str
) -> None:
    def connect(role: Role, tenant: str | None, subject: str, **kwargs: Any) -> Recorder:
        client = target.client(role, tenant, subject, **kwargs).connect()
        clients.append(client)
        return client

    publisher = connect(Role.PUBLISHER, None, "publisher")
    # Tenant B holds wide filters and retained state, so amqtt's connect-time walk over every
    # filter in the broker would find B's retained messages for any newcomer.
    b_watcher = connect(Role.OPERATOR, "b", "op-b")
    assert b_watcher.subscribe("tenant/b/#") == [1]
    publisher.publish(queue_topic("b"), b"B-queue", retain=True)
    publisher.publish(ticket_topic("b", "t1"), b"B-ticket", retain=True)
    publisher.publish(queue_topic("a"), b"A-queue", retain=True)
    b_watcher.wait_for(lambda m: m.topic == ticket_topic("b", "t1"))

    idle = connect(role, "a", "dev-idle", transport=transport)  # never subscribes
    spy = connect(role, "a", "dev-a", transport=transport)
    granted = {topic_filter: spy.subscribe(topic_filter) for topic_filter in FOREIGN_FILTERS}
    assert granted == {topic_filter: [REFUSED] for topic_filter in FOREIGN_FILTERS}
    assert spy.subscribe(own_filter(role)) == [1]
    spy.wait_for(lambda m: m.payload == b"A-queue" and m.retain)  # retained at SUBSCRIBE works

    # Live traffic of tenant B after A subscribed: an event, a new snapshot, a device's Will.
    b_device = connect(
        Role.DISPLAY,
        "b",
        "disp-b",
        will=(device_status_topic("b", "disp-b"), b"B-offline", 1, True),
    )
    abrupt_close(b_device)
    b_watcher.wait_for(lambda m: m.payload == b"B-offline")
    publisher.publish(events_topic("b"), b"B-event")
    publisher.publish(queue_topic("b"), b"B-queue-2", retain=True)
    publisher.publish(queue_topic("a"), b"A-queue-2", retain=True)
    spy.wait_for(lambda m: m.payload == b"A-queue-2")  # own tenant's live traffic arrives
    b_watcher.wait_for(lambda m: m.payload == b"B-queue-2")

    assert [m for m in spy.drain(0.3) if not m.topic.startswith("tenant/a/")] == []
    assert idle.drain(0) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_resumed_persistent_session_gets_only_its_own_tenant(
    target: Target, clients: list[Recorder], transport: str
) -> None:
    publisher = target.client(Role.PUBLISHER, None, "publisher").connect()
    b_watcher = target.client(Role.DISPLAY, "b", "disp-b").connect()
    clients.extend([publisher, b_watcher])
    assert b_watcher.subscribe("tenant/b/#") == [1]

    def screen() -> Recorder:
        return target.client(
            Role.DISPLAY,
            "a",
            "disp-a",
            client_id="screen",
            clean_session=False,
            transport=transport,
        )

    first = screen()
    first.connect()
    assert first.subscribe("tenant/a/#") == [1]
    first.close()
    publisher.publish(queue_topic("b"), b"B-while-away", retain=True)
    publisher.publish(queue_topic("a"), b"A-while-away", retain=True)
    b_watcher.wait_for(lambda m: m.payload == b"B-while-away")

    resumed = screen()
    clients.append(resumed.connect())
    assert resumed.session_present is True
    resumed.wait_for(lambda m: m.payload == b"A-while-away")
    assert [m.topic for m in resumed.drain(0.3) if not m.topic.startswith("tenant/a/")] == []


def test_same_client_id_in_two_tenants_are_two_sessions(
    broker: BrokerThread, clients: list[Recorder]
) -> None:
    publisher = broker.client(token(Role.PUBLISHER, None, "publisher")).connect()
    b_screen = broker.client(
        token(Role.DISPLAY, "b", "screen"), client_id="screen", clean_session=False
    ).connect()
    clients.extend([publisher, b_screen])
    assert b_screen.subscribe("tenant/b/#") == [1]
    # Tenant A connects with the same client id (clean and then persistent): in amqtt this
    # wiped or inherited B's session; here each identity has its own.
    for clean in (True, False):
        a_screen = broker.client(
            token(Role.DISPLAY, "a", "screen"), client_id="screen", clean_session=clean
        ).connect()
        clients.append(a_screen)
        assert a_screen.session_present is False
        publisher.publish(queue_topic("b"), f"B-{clean}".encode())
        b_screen.wait_for(payload_is(f"B-{clean}".encode()))
        assert a_screen.drain(0.2) == []
        assert not b_screen.disconnected.is_set()


def test_superadmin_reads_every_tenant_and_sys_is_silent(
    target: Target, clients: list[Recorder]
) -> None:
    publisher = target.client(Role.PUBLISHER, None, "publisher").connect()
    root = target.client(Role.SUPERADMIN, None, "root").connect()
    clients.extend([publisher, root])
    assert root.subscribe("tenant/+/queue") == [1]
    assert root.subscribe("$SYS/#") == [REFUSED]
    # Our publisher may watch $SYS (to show it is silent); Mosquitto's publisher login may
    # subscribe to nothing at all, and sys_interval 0 keeps $SYS silent there too.
    assert publisher.subscribe("$SYS/#") == ([1] if target.kind == "embedded" else [REFUSED])
    publisher.publish(queue_topic("a"), b"A")
    publisher.publish(queue_topic("b"), b"B")
    root.wait_for(lambda m: m.payload == b"A")
    root.wait_for(lambda m: m.payload == b"B")
    # $SYS is disabled: nothing is ever published there.
    assert [m for m in publisher.drain(0.3) if m.topic.startswith("$")] == []


# --- who may connect ----------------------------------------------------------------------

REVOKED_SUBJECT = "revoked-totem"


@pytest.fixture
def checking_broker() -> Iterator[BrokerThread]:
    running = BrokerThread(
        broker_settings(), token_active=lambda p: p.subject != REVOKED_SUBJECT
    ).start()
    try:
        yield running
    finally:
        running.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("case", "password"),
    [
        ("missing", None),
        ("empty", ""),
        ("garbage", "not-a-token"),
        (
            "expired",
            token(Role.DISPLAY, "a", "disp-a", ttl=-timedelta(hours=1)),
        ),
        ("forged", token(Role.PUBLISHER, None, "publisher", secret=OTHER_SECRET)),
        ("revoked", token(Role.TOTEM, "a", REVOKED_SUBJECT)),
    ],
)
def test_connect_is_refused_without_a_valid_active_token(
    checking_broker: BrokerThread, case: str, password: str | None, transport: str
) -> None:
    client = checking_broker.client(password, transport=transport)
    with pytest.raises(ConnectRefused, match=r"(?i)not authori[sz]ed|bad user ?name or password"):
        client.connect()
    # ...and the broker still serves a valid client afterwards.
    ok = checking_broker.client(token(Role.DISPLAY, "a", "disp-a"), transport=transport).connect()
    ok.close()


def test_username_is_free_and_a_token_is_enough(checking_broker: BrokerThread) -> None:
    for username in ("", "anything", "disp-a"):
        checking_broker.client(
            token(Role.DISPLAY, "a", "disp-a"), username=username
        ).connect().close()


def test_a_will_outside_the_clients_own_topics_is_refused(checking_broker: BrokerThread) -> None:
    own = checking_broker.client(
        token(Role.TOTEM, "a", "totem-1"),
        will=(device_status_topic("a", "totem-1"), b"offline", 1, True),
    )
    own.connect().close()
    for will_topic in (
        device_status_topic("b", "totem-1"),
        device_status_topic("a", "other"),
        queue_topic("a"),
    ):
        intruder = checking_broker.client(
            token(Role.TOTEM, "a", "totem-1"), will=(will_topic, b"x", 1, True)
        )
        with pytest.raises(ConnectRefused, match=r"(?i)not authori[sz]ed"):
            intruder.connect()


# --- what a client may publish --------------------------------------------------------------


def test_publishes_outside_own_topics_are_dropped_without_harm(
    target: Target, clients: list[Recorder]
) -> None:
    publisher = target.client(Role.PUBLISHER, None, "publisher").connect()
    watcher = target.client(Role.OPERATOR, "a", "op").connect()
    public = target.client(Role.PUBLIC, "a").connect()
    totem = target.client(Role.TOTEM, "a", "totem-1").connect()
    operator = target.client(Role.OPERATOR, "a", "op2").connect()
    clients.extend([publisher, watcher, public, totem, operator])
    assert watcher.subscribe("tenant/a/#") == [1]
    assert public.subscribe(queue_topic("a")) == [1]
    publisher.publish(queue_topic("a"), b"truth", retain=True)
    watcher.wait_for(lambda m: m.payload == b"truth")

    public.publish(queue_topic("a"), b"forged-by-public", retain=True)
    operator.publish(queue_topic("a"), b"forged-by-operator", retain=True)
    totem.publish(device_status_topic("a", "other-device"), b"forged-presence", retain=True)
    totem.publish(queue_topic("b"), b"cross-tenant", retain=True)
    totem.publish(device_status_topic("a", "totem-1"), b"online", retain=True)  # allowed
    watcher.wait_for(lambda m: m.payload == b"online")

    assert [m.payload for m in watcher.drain(0.3)] == [b"truth", b"online"]
    late = target.client(Role.OPERATOR, "a", "op3").connect()
    clients.append(late)
    assert late.subscribe("tenant/a/#") == [1]
    late.wait_for(lambda m: m.payload == b"online")
    assert sorted(m.payload for m in late.drain(0.3)) == [b"online", b"truth"]
    # Nobody was disconnected for trying; the public page still gets live updates.
    publisher.publish(queue_topic("a"), b"truth-2", retain=True)
    public.wait_for(lambda m: m.payload == b"truth-2")
    assert not any(c.disconnected.is_set() for c in (public, totem, operator))


def test_token_expiry_closes_the_connection(broker: BrokerThread) -> None:
    # Valid for 2 s more (inside verify_token's leeway it would still be accepted at CONNECT).
    short = token(Role.PUBLIC, "a", ttl=timedelta(seconds=2))
    client = broker.client(short)
    client.client.reconnect_delay_set(60, 60)  # observe the close, not paho's reconnect
    client.connect()
    try:
        deadline = time.monotonic() + 10
        while not client.disconnected.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.disconnected.is_set()
    finally:
        client.close()
