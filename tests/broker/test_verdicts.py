"""Revocation answers remembered (broker.verdicts): a CONNECT whose identity was asked about
already decides without a worker thread, a database read or even an await, and revocation is
still honoured — at once after the API's notification, within ``max_age`` without one, and for a
CONNECT that was being admitted while credentials changed."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from broker.auth import Authenticator, Refused
from broker.revocation import credentials_changed
from broker.verdicts import Verdicts
from protocol import Principal, Role
from tests.broker.harness import SECRET, BrokerThread, Revocations, broker_settings, token
from tests.support.mqtt import ConnectRefused


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admitted_without_suspending(authenticator: Authenticator, password: str) -> bool:
    """Runs ``admit`` by hand: it must finish at its first step (no thread hop, no await of
    anything) and admit."""
    step = authenticator.admit(password)
    try:
        step.send(None)
    except StopIteration:
        return True
    except Refused:
        return False
    step.close()
    raise AssertionError("admit waited for something: it did not decide from memory")


def test_a_shared_public_token_is_verified_and_asked_about_once() -> None:
    asked = Revocations()
    authenticator = Authenticator(SECRET, asked)
    shared = token(Role.PUBLIC, "a", "public")
    asyncio.run(authenticator.admit(shared))  # the first CONNECT asks (in a worker thread)
    for _ in range(100):
        assert admitted_without_suspending(authenticator, shared)
    assert asked.asked == ["public"]


def test_without_notification_an_answer_is_relied_on_for_max_age_only() -> None:
    """``python -m broker`` hears of no commit: a revoked token is refused within max_age."""
    asked, clock = Revocations(), Clock()
    authenticator = Authenticator(SECRET, asked, verdicts=Verdicts(30.0, clock=clock))
    device = token(Role.DISPLAY, "a", "screen-1")
    asyncio.run(authenticator.admit(device))
    asked.revoked.add("screen-1")
    clock.now += 29.9
    assert admitted_without_suspending(authenticator, device)
    clock.now += 0.1
    with pytest.raises(Refused):
        asyncio.run(authenticator.admit(device))
    assert asked.asked == ["screen-1", "screen-1"]


def test_a_refusal_is_remembered_but_a_failed_check_is_not() -> None:
    calls: list[str] = []

    def failing(principal: Principal) -> bool:
        calls.append(principal.subject)
        raise OSError("database away")

    authenticator = Authenticator(SECRET, failing)
    device = token(Role.DISPLAY, "a", "screen-1")
    for _ in range(2):
        with pytest.raises(Refused):  # fail closed
            asyncio.run(authenticator.admit(device))
    assert calls == ["screen-1", "screen-1"]

    asked = Revocations()
    asked.revoked.add("screen-1")
    authenticator = Authenticator(SECRET, asked)
    with pytest.raises(Refused):
        asyncio.run(authenticator.admit(device))
    assert not admitted_without_suspending(authenticator, device)
    assert asked.asked == ["screen-1"]


def test_an_answer_read_while_credentials_changed_is_not_kept() -> None:
    verdicts = Verdicts(30.0)
    principal = Principal(
        subject="screen-1",
        role=Role.DISPLAY,
        tenant="a",
        token_id="t1",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    started = verdicts.generation
    verdicts.forget(lambda p: p.tenant == "a")  # a commit while the answer was being read
    verdicts.remember(principal, True, started)
    assert verdicts.get(principal) is None
    verdicts.remember(principal, True, verdicts.generation)
    assert verdicts.get(principal) is True


# --- through the broker ---------------------------------------------------------------------


def test_a_change_forgets_the_answers_of_its_tenant_only(
    checked_broker: BrokerThread, revocations: Revocations
) -> None:
    screen_a = token(Role.DISPLAY, "a", "screen-a")
    screen_b = token(Role.DISPLAY, "b", "screen-b")
    for password in (screen_a, screen_b):
        checked_broker.client(password).connect().close()
    revocations.revoked.add("screen-a")
    checked_broker.run(lambda: credentials_changed(checked_broker.broker, revocations, "a"))
    with pytest.raises(ConnectRefused, match=r"(?i)not authori[sz]ed"):
        checked_broker.client(screen_a).connect()
    checked_broker.client(screen_b).connect().close()
    assert revocations.asked == ["screen-a", "screen-b", "screen-a"]


def test_a_connect_admitted_while_credentials_changed_is_checked_again() -> None:
    """Its answer was read before the commit, its session registered after the close of revoked
    connections that followed: it is checked again and closed."""
    entered, release = threading.Event(), threading.Event()
    revoked: set[str] = set()

    def token_active(principal: Principal) -> bool:
        if not release.is_set():
            entered.set()
            release.wait(10)
            return True  # the answer as it was before the commit
        return principal.subject not in revoked

    running = BrokerThread(broker_settings(), token_active=token_active).start()
    client = running.client(token(Role.DISPLAY, "a", "screen-1"))
    connecting = threading.Thread(target=client.connect)
    try:
        connecting.start()
        assert entered.wait(10)
        revoked.add("screen-1")
        running.run(lambda: credentials_changed(running.broker, token_active, "a"))
        release.set()
        connecting.join(10)
        assert client.disconnected.wait(10), "admitted on a stale answer and kept"
    finally:
        release.set()
        client.close()
        running.close()
