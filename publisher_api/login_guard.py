"""Password checks that cannot take the process down, and limits on guessing.

A login costs ~0.2 s of CPU and 64 MiB (argon2). Before this module, 200 wrong logins at
concurrency 60 froze the whole process: each check ran in the shared thread pool *holding a
pooled database connection*, so ticket writes and the embedded broker's event loop waited
behind them (call-next failed with ``QueuePool limit ... reached``; /healthz stalled 31 s).

- :class:`PasswordChecks`: argon2 runs in its own small pool (``login_concurrency`` threads)
  with a bounded waiting line (``login_queue``); beyond it, 429 at once. No database
  connection is held while hashing: the user's row is read first, in a short query.
- :class:`Buckets`: token buckets per key. Logins take one from the client address's bucket
  (``login_per_ip`` per ``login_window_s``; a success gives it back, so only failures and
  checks in flight count) and failures take one from the username's bucket
  (``login_per_user``). An empty bucket answers 429 with ``Retry-After``; failures are logged
  (once per interval with a count, see :mod:`config.faultlog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from config import Settings
from config.faultlog import FaultLog
from publisher_api.auth import verify_password
from publisher_api.errors import TooManyRequests

_MAX_KEYS = 100_000  # addresses and usernames remembered; the fullest buckets go first


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Buckets:
    """``capacity`` tokens per key, refilled evenly over ``window_s``."""

    def __init__(
        self,
        capacity: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / window_s
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _current(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_KEYS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.capacity), now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def wait_s(self, key: str) -> float:
        """0 when ``key`` has a token left; otherwise the seconds until it will."""
        bucket = self._current(key)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, key: str) -> float:
        """Take a token; returns 0, or (taking nothing) the seconds until one is available."""
        bucket = self._current(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def give_back(self, key: str) -> None:
        bucket = self._current(key)
        bucket.tokens = min(self.capacity, bucket.tokens + 1)

    def _forget_full(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.capacity:
                del self._buckets[key]
        if len(self._buckets) >= _MAX_KEYS:  # all busy: forget the oldest
            del self._buckets[next(iter(self._buckets))]


def _yield_cpu() -> None:
    """Run this password thread at the lowest CPU priority (Linux keeps a nice value per
    thread): under a login flood argon2 still gets every idle cycle, but the event loop, the
    writer and the broker go first."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class PasswordChecks:
    """argon2 verification on a dedicated, bounded pool."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self._pool = ThreadPoolExecutor(
            concurrency, thread_name_prefix="password", initializer=_yield_cpu
        )
        self._limit = concurrency + queue
        self._pending = 0

    async def verify(self, password_hash: str | None, password: str) -> bool:
        if self.full:
            raise TooManyRequests(
                "too many sign-ins at once; try again in a moment", retry_after_s=1
            )
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, verify_password, password_hash, password)
        finally:
            self._pending -= 1

    @property
    def full(self) -> bool:
        return self._pending >= self._limit

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class LoginGuard:
    """Everything a sign-in goes through, built once per app from its settings."""

    per_ip: Buckets
    per_user: Buckets
    checks: PasswordChecks
    faults: FaultLog

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginGuard:
        return cls(
            per_ip=Buckets(settings.login_per_ip, settings.login_window_s),
            per_user=Buckets(settings.login_per_user, settings.login_window_s),
            checks=PasswordChecks(settings.login_concurrency, settings.login_queue),
            faults=FaultLog(
                logging.getLogger("publisher_api.login"), settings.fault_log_interval_s
            ),
        )

    def admit(self, address: str, username: str) -> None:
        """Before any work: 429 when this address or this username is over its limit."""
        wait = self.per_ip.take(address)
        if wait:
            self.faults.warning(
                f"ip:{address}", "sign-in attempts from %s over the limit: refused (429)", address
            )
            raise TooManyRequests("too many sign-in attempts from this address", retry_after_s=wait)
        wait = self.per_user.wait_s(username)
        if wait:
            self.per_ip.give_back(address)
            self.faults.warning(
                f"user:{username}",
                "too many failed sign-ins for %r (latest from %s): refused (429)",
                username,
                address,
            )
            raise TooManyRequests("too many failed sign-ins for this user", retry_after_s=wait)

    def early_refusal(self, address: str) -> TooManyRequests | None:
        """What :meth:`admit` would certainly refuse, judged before the request's form is
        parsed (see :mod:`publisher_api.login_gate`): a flood of refused sign-ins then costs
        the event loop a few microseconds each instead of a trip through FastAPI."""
        wait = self.per_ip.wait_s(address)
        if wait:
            self.faults.warning(
                f"ip:{address}", "sign-in attempts from %s over the limit: refused (429)", address
            )
            return TooManyRequests(
                "too many sign-in attempts from this address", retry_after_s=wait
            )
        if self.checks.full:
            self.faults.warning("busy", "sign-in checks all busy: refused (429) from %s", address)
            return TooManyRequests(
                "too many sign-ins at once; try again in a moment", retry_after_s=1
            )
        return None

    def failed(self, address: str, username: str) -> None:
        self.per_user.take(username)
        self.faults.warning("failed", "failed sign-in for %r from %s", username, address)

    def succeeded(self, address: str) -> None:
        self.per_ip.give_back(address)
