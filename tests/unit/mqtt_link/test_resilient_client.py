"""The one resilient MQTT client (mqtt_link.client) against our real broker on free ports: it
comes back after the broker drops it, reads its login again at every attempt, and says its last
word before a clean stop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from mqtt_link.backoff import Backoff
from mqtt_link.client import Login, Message, ResilientClient
from protocol import Role
from protocol.broker_url import BrokerAddress
from tests.broker.harness import (
    OTHER_SECRET,
    BrokerThread,
    broker_settings,
    payload_is,
    token,
)
from tests.support.ports import free_port

STATUS = "tenant/t1/devices/probe/status"
INBOX = "tenant/t1/inbox"


def quick() -> Backoff:
    return Backoff(initial_s=0.05, cap_s=0.2, spread_s=0.05)


@pytest.fixture
def broker() -> Iterator[BrokerThread]:
    running = BrokerThread(broker_settings()).start()
    yield running
    running.close()


def publisher_login(port: int, secret: str | None = None) -> Login:
    password = (
        token(Role.PUBLISHER, None)
        if secret is None
        else token(Role.PUBLISHER, None, secret=secret)
    )
    return Login(BrokerAddress("127.0.0.1", port, username="probe", password=password), "probe")


class Events:
    """What the client's hooks saw, with a way to wait for the n-th connection."""

    def __init__(self) -> None:
        self.connects = 0
        self.losses = 0
        self.messages: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()

    def connected(self) -> None:
        with self._changed:
            self.connects += 1
            self._changed.notify_all()

    def lost(self) -> None:
        with self._changed:
            self.losses += 1
            self._changed.notify_all()

    def message(self, topic: str, payload: bytes) -> None:
        with self._changed:
            self.messages.append((topic, payload))
            self._changed.notify_all()

    def wait(self, done: Callable[[], bool], timeout: float = 15) -> bool:
        with self._changed:
            return self._changed.wait_for(done, timeout)


def test_it_reconnects_and_subscribes_again_after_the_broker_drops_it() -> None:
    settings = broker_settings()
    running = [BrokerThread(settings).start()]
    events = Events()
    client = ResilientClient(
        lambda: publisher_login(settings.mqtt_tcp_port),
        backoff=quick(),
        topics=[INBOX],
        on_connect=events.connected,
        on_lost=events.lost,
        on_message=events.message,
    )
    client.start()
    try:
        assert events.wait(lambda: events.connects == 1)
        running.pop().close()  # the broker goes away, and every connection with it
        assert events.wait(lambda: events.losses == 1)
        assert not client.is_up
        assert not client.publish(INBOX, b"while down")  # dropped, and said so
        second = BrokerThread(settings).start()  # back on the same port
        running.append(second)
        assert events.wait(lambda: events.connects == 2)
        assert client.is_up
        sender = second.client(token(Role.PUBLISHER, None)).connect()
        try:
            sender.client.publish(INBOX, b"after the restart", qos=1).wait_for_publish(5)
            assert events.wait(lambda: (INBOX, b"after the restart") in events.messages)
        finally:
            sender.close()
    finally:
        client.stop()
        for broker in running:
            broker.close()


def test_it_reads_the_login_again_at_every_attempt(broker: BrokerThread) -> None:
    # The first login is refused (a token signed with another secret); the client does not
    # keep retrying with it: the next attempt asks again and gets the good one.
    logins = [
        publisher_login(broker.tcp_port, secret=OTHER_SECRET),
        publisher_login(broker.tcp_port),
    ]
    asked: list[Login] = []

    def login() -> Login:
        asked.append(logins[min(len(asked), len(logins) - 1)])
        return asked[-1]

    client = ResilientClient(login, backoff=quick())
    client.start()
    try:
        assert client.wait_up(15)
        assert asked[:2] == logins
    finally:
        client.stop()


def test_a_failing_login_is_retried_and_never_raises(broker: BrokerThread) -> None:
    answers: list[Login | Exception] = [
        ValueError("the API is not answering"),
        publisher_login(free_port()),  # nobody listens there
        publisher_login(broker.tcp_port),
    ]
    asked = 0

    def login() -> Login:
        nonlocal asked
        answer = answers[min(asked, len(answers) - 1)]
        asked += 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = ResilientClient(login, backoff=quick())
    client.start()
    try:
        assert client.wait_up(15)
        assert asked >= 3
    finally:
        client.stop()


def test_stop_publishes_the_final_message_and_the_will_stays_unsent(broker: BrokerThread) -> None:
    watcher = broker.client(token(Role.PUBLISHER, None)).connect()
    watcher.client.subscribe(STATUS, qos=1)
    client = ResilientClient(
        lambda: publisher_login(broker.tcp_port),
        backoff=quick(),
        will=Message(STATUS, b"died", retain=True),
        on_connect=lambda: None,
    )
    client.start()
    try:
        assert client.wait_up(15)
        assert client.publish(STATUS, b"online", retain=True)
        watcher.wait_for(payload_is(b"online"))
        client.stop(final=Message(STATUS, b"stopped", retain=True))
        assert not client.is_up
        watcher.wait_for(payload_is(b"stopped"))
    finally:
        client.stop()
    late = broker.client(token(Role.PUBLISHER, None)).connect()
    try:
        late.client.subscribe(STATUS, qos=1)
        assert late.wait_for(payload_is(b"stopped")).retain  # not overwritten by the Will
    finally:
        late.close()
        watcher.close()


@pytest.mark.parametrize(
    ("topics", "granted"), [([INBOX], True), ([INBOX, "elsewhere/topic"], False)]
)
def test_on_subscribed_says_whether_the_broker_granted_every_topic(
    broker: BrokerThread, topics: list[str], granted: bool
) -> None:
    answers: list[bool] = []
    answered = threading.Event()

    def subscribed(ok: bool) -> None:
        answers.append(ok)
        answered.set()

    client = ResilientClient(
        lambda: publisher_login(broker.tcp_port),
        backoff=quick(),
        topics=topics,
        on_subscribed=subscribed,
    )
    client.start()
    try:
        assert answered.wait(15)
        assert answers == [granted]
    finally:
        client.stop()
