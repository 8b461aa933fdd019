"""Keeps Mosquitto's dynamic-security plugin in step with our grants.

A sync reads the grants (:mod:`~publisher_api.dynsec.grants`), computes what the plugin must hold
(:mod:`~publisher_api.dynsec.model`), lists what it holds and sends the difference
(:mod:`~publisher_api.dynsec.reconcile`). Syncs run on one worker thread, never on the event loop:

- at every (re)connect of the admin connection (a restarted broker starts from its file);
- right after a commit that changed who may connect (``request_sync``, from the writer's
  ``credentials_changed``), so a revoked device or user is cut off within one round trip;
- every ``interval_s`` anyway: public passwords rotate with the clock, and another replica's
  commit (or a crash between its commit and its sync) is caught up.

Several replicas may sync at once: they compute the same state from the same database, and a
command that lost the race ("already exists", "not found") is harmless; the next sync settles it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from publisher_api.dynsec.control import ControlError, DynsecControl
from publisher_api.dynsec.model import Grants, desired_state
from publisher_api.dynsec.reconcile import Command, parse_actual, plan

log = logging.getLogger(__name__)

BATCH = 100
"""Commands per control message: a few KB each, answered in one go."""
LIST_ALL = [
    {"command": "listClients", "verbose": True, "count": -1, "offset": 0},
    {"command": "listRoles", "verbose": True, "count": -1, "offset": 0},
]


class Provisioner:
    def __init__(
        self,
        control: DynsecControl,
        grants: Callable[[], Grants],
        *,
        secret: str,
        period_s: int,
        interval_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._control = control
        self._grants = grants
        self._secret = secret
        self._period_s = period_s
        self._interval_s = interval_s
        self._clock = clock
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._synced = threading.Condition()
        self._started = 0  # syncs started
        self._done = 0  # the start number of the last sync that completed
        self._wanted = -1  # a sync numbered above this one must complete for requests so far
        self._thread = threading.Thread(target=self._run, name="dynsec-provisioner", daemon=True)

    @property
    def control(self) -> DynsecControl:
        return self._control

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def request_sync(self) -> None:
        """Never blocks: the worker syncs as soon as it can (requests coalesce)."""
        with self._synced:
            self._wanted = self._started
        self._wake.set()

    def wait_settled(self, timeout: float) -> bool:
        """Until every change requested so far is in the broker, or ``timeout``. Returns at
        once when nothing is pending: what hands out a login calls it, so a device created a
        moment ago does not get a login the broker refuses for a few milliseconds."""
        deadline = time.monotonic() + timeout
        with self._synced:
            while self._done <= self._wanted:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._synced.wait(remaining)
        return True

    def wait_synced(self, timeout: float) -> bool:
        """Until a sync that started after this call has completed (tests, start-up)."""
        deadline = time.monotonic() + timeout
        with self._synced:
            after = self._started
            self._wake.set()
            while self._done <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._synced.wait(min(remaining, 0.5))
                self._wake.set()  # a sync that failed (not connected yet): try again
        return True

    def sync_once(self) -> int:
        """One full sync; returns how many commands it sent. Raises ControlError.

        The broker is listed *before* the database is read: a change another replica's sync
        already put in the broker was committed before that, so this read sees it too and this
        sync never puts the old state back (at worst it repeats the change)."""
        listed = self._control.run(LIST_ALL)
        for response in listed:
            if "error" in response:
                raise ControlError(f"{response.get('command')}: {response['error']}")
        grants = self._grants()
        desired = desired_state(
            grants, secret=self._secret, now=self._clock(), period_s=self._period_s
        )
        clients = listed[0].get("data", {}).get("clients", [])
        roles = listed[1].get("data", {}).get("roles", [])
        commands = plan(desired, parse_actual(clients, roles))
        for start in range(0, len(commands), BATCH):
            self._send(commands[start : start + BATCH])
        return len(commands)

    def _send(self, commands: list[Command]) -> None:
        for command, response in zip(commands, self._control.run(commands), strict=True):
            if "error" in response:
                # Another replica's sync got there first, or a role still in use: the next
                # sync compares again. Never the password: the command is not logged whole.
                log.warning(
                    "dynsec %s %s: %s",
                    command["command"],
                    command.get("username") or command.get("rolename"),
                    response["error"],
                )

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval_s)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if not self._control.connected:
                continue
            with self._synced:
                self._started += 1
                number = self._started
            try:
                sent = self.sync_once()
            except ControlError as exc:
                log.warning("dynsec sync failed (%s); retrying", exc)
                time.sleep(1)
                self._wake.set()
                continue
            except Exception:
                log.exception("dynsec sync failed; retrying at the next interval")
                continue
            if sent:
                log.info("dynsec sync: %d commands", sent)
            with self._synced:
                self._done = number
                self._synced.notify_all()
