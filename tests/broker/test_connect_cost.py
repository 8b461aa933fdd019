"""What keeps a reconnect storm cheap: CONNECT work that does not grow with the crowd.

- a token shared by many clients is verified once (its grant is remembered until it expires),
  and revocation is asked about once until credentials change (tests/broker/test_verdicts.py);
- connecting and subscribing never walks the other sessions or amqtt's subscription dict;
- refusals in a burst are logged once, with a count;
- broker sessions carry a three-state :class:`~broker.session.SessionState` that moves exactly
  as amqtt's per-session ``transitions.Machine`` did.

Timings live in ``bench/broker_storm.py`` and docs/benchmarks.md, not here.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import pickle
import socket
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from amqtt.session import Session
from transitions import MachineError

import broker.auth
import broker.core
import protocol
from bench import broker_wire as wire
from broker.auth import Authenticator, Refused
from broker.core import CONNECT_TIMEOUT_S, TenantBroker, connect_timeout
from broker.refusals import RefusalLog
from broker.revocation import credentials_changed
from broker.session import TenantSession
from protocol import Principal, Role, issue_token
from protocol.topics import queue_topic
from tests.broker.harness import (
    SECRET,
    BrokerThread,
    Revocations,
    broker_settings,
    payload_is,
    token,
)
from tests.support.mqtt import ConnectRefused, Recorder

CLIENTS = 12


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the broker verifies (signature and claims), in order."""
    calls: list[str] = []
    real = protocol.verify_token

    def counting(token: str, *, secret: str) -> Principal:
        calls.append(token)
        return real(token, secret=secret)

    monkeypatch.setattr(broker.auth, "verify_token", counting)
    return calls


def test_a_token_shared_by_many_screens_is_verified_once(
    checked_broker: BrokerThread,
    verifications: list[str],
    revocations: Revocations,
    clients: list[Recorder],
) -> None:
    checked_broker.run(
        lambda: checked_broker.broker.publish_local(queue_topic("a"), b"doc", retain=True)
    )
    shared = token(Role.PUBLIC, "a", "public")
    for index in range(CLIENTS):
        transport = "websockets" if index % 2 else "tcp"
        client = checked_broker.client(shared, transport=transport)
        clients.append(client.connect())
        client.subscribe(queue_topic("a"))
    for client in clients:
        assert client.wait_for(payload_is(b"doc")).retain
    assert verifications == [shared]
    # Asked once, then answered from memory: no worker thread or database read per CONNECT.
    assert revocations.asked == ["public"]


def test_a_remembered_token_is_still_refused_once_revoked(
    checked_broker: BrokerThread, revocations: Revocations, verifications: list[str]
) -> None:
    device = token(Role.DISPLAY, "a", "screen-1")
    checked_broker.client(device).connect().close()
    revocations.revoked.add("screen-1")
    # What the API does after the commit that revoked it (publisher_api.realtime).
    checked_broker.run(lambda: credentials_changed(checked_broker.broker, revocations, tenant="a"))
    with pytest.raises(ConnectRefused, match=r"(?i)not authori[sz]ed"):
        checked_broker.client(device).connect()
    assert verifications == [device]  # refused by token_active, not by a second verification


def test_a_remembered_grant_is_not_used_past_the_tokens_expiry(verifications: list[str]) -> None:
    value, principal = issue_token(
        secret=SECRET, subject="s", role=Role.DISPLAY, tenant="a", ttl=timedelta(hours=1)
    )
    now = [datetime.now(UTC).timestamp()]
    authenticator = Authenticator(SECRET, clock=lambda: now[0])

    asyncio.run(authenticator.grant(value))
    asyncio.run(authenticator.grant(value))
    assert len(verifications) == 1
    now[0] = principal.expires_at.timestamp()
    asyncio.run(authenticator.grant(value))  # verify_token decides again (with its own clock)
    assert len(verifications) == 2


def test_forged_tokens_are_never_remembered(verifications: list[str]) -> None:
    forged = token(Role.PUBLIC, "a", secret="another-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    authenticator = Authenticator(SECRET)
    for _ in range(2):
        with pytest.raises(Refused):
            asyncio.run(authenticator.grant(forged))
    assert verifications == [forged, forged]


class WatchedSessions(dict[str, Any]):
    """amqtt's ``{client id: (session, handler)}``, noting every function that walks it."""

    walkers: set[str]

    def _walked(self) -> None:
        self.walkers.add(sys._getframe(2).f_code.co_name)

    def __iter__(self) -> Iterator[str]:
        self._walked()
        return super().__iter__()

    def keys(self) -> Any:
        self._walked()
        return super().keys()

    def values(self) -> Any:
        self._walked()
        return super().values()

    def items(self) -> Any:
        self._walked()
        return super().items()


def test_connecting_and_subscribing_walks_no_other_session(
    broker: BrokerThread, clients: list[Recorder]
) -> None:
    core = broker.broker.core

    def watch() -> WatchedSessions:
        watched = WatchedSessions(core._sessions)
        watched.walkers = set()
        core._sessions = watched
        return watched

    watched = broker.run(watch)
    broker.run(lambda: broker.broker.publish_local(queue_topic("a"), b"doc", retain=True))
    for _ in range(CLIENTS):
        client = broker.client(token(Role.PUBLIC, "a")).connect()
        clients.append(client)
        client.subscribe(queue_topic("a"))
        client.wait_for(payload_is(b"doc"))
    # Only the once-a-second sweep of expired sessions looks at them all.
    assert watched.walkers <= {"_session_monitor"}
    # amqtt's own filter dict (walked at every CONNECT for retained delivery, and printed with
    # repr() after every SUBSCRIBE) stays empty: subscriptions live in the topic tree.
    assert broker.run(lambda: dict(core._subscriptions)) == {}


MOVES = ("connect", "disconnect")


@pytest.mark.parametrize(
    "moves", [m for n in range(1, 5) for m in itertools.product(MOVES, repeat=n)], ids=str
)
def test_session_state_moves_as_amqtts_machine(moves: tuple[str, ...]) -> None:
    def play(session: Session) -> list[str]:
        seen = [session.transitions.state]
        for move in moves:
            try:
                getattr(session.transitions, move)()
            except MachineError:
                seen.append(f"refused {move}")
            seen.append(session.transitions.state)
        seen.append(str(session.transitions.is_connected()))
        seen.append(str(session.last_connect_time is not None))
        seen.append(str(session.last_disconnect_time is not None))
        return seen

    assert play(TenantSession()) == play(Session())


def test_a_burst_of_refusals_is_logged_once_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.refusals")

    async def burst() -> None:
        refusals = RefusalLog(logger, "connection refused", window_s=60)
        for index in range(500):
            refusals.refused(f"client {index}")
        refusals.close()  # the window ends (here: at stop)
        refusals.refused("client after the window")

    with caplog.at_level(logging.WARNING, logger="tests.refusals"):
        asyncio.run(burst())
    assert [r.getMessage() for r in caplog.records] == [
        "connection refused: client 0",
        "connection refused: 499 more in the last 60 s",
        "connection refused: client after the window",
    ]


def test_a_full_listener_logs_its_refusals_once(caplog: pytest.LogCaptureFixture) -> None:
    running = BrokerThread(broker_settings(mqtt_max_connections=1)).start()
    held = running.client(token(Role.PUBLIC, "a")).connect()
    try:
        with caplog.at_level(logging.WARNING, logger="broker.core"):
            for _ in range(5):
                with pytest.raises(ConnectRefused, match=r"(?i)unavailable"):
                    running.client(token(Role.PUBLIC, "a")).connect()
            running.stop()  # ends the window: the count is logged
    finally:
        held.close()
        running.close()
    lines = [r.getMessage() for r in caplog.records if "connection refused" in r.getMessage()]
    assert len(lines) == 2
    assert "listener tcp is full (1 connections)" in lines[0]
    assert lines[1] == "connection refused: 4 more in the last 10 s"


def test_the_connect_timeout_grows_with_the_connections_waiting_ahead() -> None:
    assert connect_timeout(0) == CONNECT_TIMEOUT_S
    assert connect_timeout(10_000) == pytest.approx(CONNECT_TIMEOUT_S + 20)


def test_connections_waiting_for_connect_are_counted_out_whatever_their_end(
    broker: BrokerThread, clients: list[Recorder]
) -> None:
    clients.append(broker.client(token(Role.PUBLIC, "a")).connect())
    with pytest.raises(ConnectRefused):
        broker.client("not a token").connect()
    # The client reads its CONNACK before the broker has closed that connection and counted it
    # out: wait for the broker to settle, then nothing may still be counted as waiting.
    deadline = time.monotonic() + 10
    while broker.run(lambda: broker.broker.core._awaiting_connect) != 0:
        assert time.monotonic() < deadline, "a connection is still counted as awaiting CONNECT"
        time.sleep(0.01)


def test_connect_is_awaited_in_the_connections_own_task(
    monkeypatch: pytest.MonkeyPatch, clients: list[Recorder]
) -> None:
    """The CONNECT deadline is a timeout on the connection's task, not a task of its own per
    connection (``asyncio.wait_for`` made one, with a waiter and two more event-loop passes)."""
    tasks: dict[str, asyncio.Task[Any] | None] = {}
    connected, initialize = TenantBroker._client_connected, TenantBroker._initialize_client_session

    async def connected_spy(self: TenantBroker, *args: Any) -> None:
        tasks["connection"] = asyncio.current_task()
        await connected(self, *args)

    async def initialize_spy(self: TenantBroker, *args: Any) -> Any:
        tasks["connect"] = asyncio.current_task()
        return await initialize(self, *args)

    monkeypatch.setattr(TenantBroker, "_client_connected", connected_spy)
    monkeypatch.setattr(TenantBroker, "_initialize_client_session", initialize_spy)
    running = BrokerThread(broker_settings()).start()
    try:
        clients.append(running.client(token(Role.PUBLIC, "a", "public")).connect())
        assert tasks["connect"] is not None
        assert tasks["connect"] is tasks["connection"]
    finally:
        running.close()


def test_a_connection_that_never_sends_connect_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker.core, "CONNECT_TIMEOUT_S", 0.2)
    running = BrokerThread(broker_settings()).start()
    try:
        with socket.create_connection(("127.0.0.1", running.tcp_port), timeout=20) as silent:
            assert silent.recv(16) == b""  # closed by the broker, nothing sent
    finally:
        running.close()


def test_a_live_connection_waits_for_its_end_without_a_task_of_its_own(
    checked_broker: BrokerThread, clients: list[Recorder]
) -> None:
    """The connection's task awaits the handler's disconnect future itself: no task per
    connection around ``wait_disconnect`` (and no ``asyncio.wait`` on it)."""
    for _ in range(3):
        clients.append(checked_broker.client(token(Role.PUBLIC, "a", "public")).connect())

    def awaiting() -> list[list[str]]:
        """Each task's chain of awaited coroutines, outermost first."""
        chains = []
        for task in asyncio.all_tasks():
            chain: list[str] = []
            coro: Any = task.get_coro()
            while coro is not None and hasattr(coro, "cr_code"):
                chain.append(coro.cr_code.co_name)
                coro = coro.cr_await
            chains.append(chain)
        return chains

    deadline = time.monotonic() + 10
    while True:
        chains = checked_broker.run(awaiting)
        if sum("_client_message_loop" in chain for chain in chains) == 3:
            break
        assert time.monotonic() < deadline, chains
        time.sleep(0.02)
    assert not [chain for chain in chains if "wait_disconnect" in chain], chains


def test_a_screens_session_builds_no_message_queues(
    checked_broker: BrokerThread, clients: list[Recorder]
) -> None:
    """amqtt's two queues per session (a dozen objects each connection that every garbage
    collection walks) are built only when used: a persistent session's offline messages."""
    checked_broker.run(
        lambda: checked_broker.broker.publish_local(queue_topic("a"), b"doc", retain=True)
    )
    screen = checked_broker.client(token(Role.PUBLIC, "a", "public"))
    clients.append(screen.connect())
    screen.subscribe(queue_topic("a"))
    assert screen.wait_for(payload_is(b"doc")).retain

    def queues() -> list[list[str]]:
        return [
            sorted(set(vars(session)) & {"retained_messages", "delivered_message_queue"})
            for session, _ in checked_broker.broker.core.connected_handlers()
        ]

    assert checked_broker.run(queues) == [[]]


def test_a_lazy_queue_is_an_ordinary_attribute_once_used() -> None:
    session = TenantSession()
    assert session.offline_queue() is None
    queue = session.retained_messages
    queue.put_nowait("message")
    assert session.retained_messages is queue
    assert session.offline_queue() is queue
    assert "delivered_message_queue" not in session.__getstate__()
    with pytest.raises(AttributeError):
        session.not_an_attribute  # noqa: B018


def test_an_ended_session_leaves_no_reference_cycle() -> None:
    """A session and its state were a cycle (each held the other): every ended connection left
    it, and what hung from it, for the garbage collector. Its queues are not built to be
    cleared either. A session still pickles as amqtt's does."""
    session = TenantSession()
    session.client_id = "screen"
    session.transitions.connect()
    assert session.last_connect_time is not None
    session.clear_queues()
    assert session.offline_queue() is None
    assert "delivered_message_queue" not in vars(session)
    ended = weakref.ref(session)
    gc.disable()
    try:
        del session
        assert ended() is None  # freed by reference counting alone
    finally:
        gc.enable()
    copy = pickle.loads(pickle.dumps(TenantSession()))  # noqa: S301 - our own object
    assert copy.transitions.state == "new"
    copy.transitions.connect()
    assert copy.transitions.is_connected()
    assert copy.last_connect_time is not None


def test_a_connect_admitted_after_its_deadline_takes_nothing_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CONNECT deadline closes the connection rather than cancelling its task: a revocation
    check that outlasts it must not then end the older connection of the same client id."""
    monkeypatch.setattr(broker.core, "CONNECT_TIMEOUT_S", 0.3)
    slow = threading.Event()

    def token_active(principal: Principal) -> bool:
        if slow.is_set():
            time.sleep(1.0)
        return True

    running = BrokerThread(broker_settings(), token_active=token_active).start()
    password = token(Role.PUBLIC, "a", "public")
    first = running.client(password, client_id="screen").connect()
    try:
        slow.set()
        running.run(lambda: running.broker.verdicts.forget(lambda _: True))  # ask again
        with socket.create_connection(("127.0.0.1", running.tcp_port), timeout=10) as late:
            late.sendall(wire.connect("screen", password=password))
            assert late.recv(4) == b""  # closed at its deadline, no CONNACK
        time.sleep(1.0)  # the slow check has answered by now
        assert not first.disconnected.is_set()
        assert first.subscribe(queue_topic("a")) == [1]
    finally:
        first.close()
        running.close()
