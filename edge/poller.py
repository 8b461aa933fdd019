"""HTTP polling fallback: while MQTT is down, fetch the snapshot and followed tickets.

``GET /queue`` returns the very document MQTT carries, so polled state goes through the same
reducer; :mod:`edge.feed` orders both sources by ``seq``. The thread sleeps (no traffic, no
CPU) while the MQTT link is up, polls at once when it drops, then every ``interval_s``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from edge.api import ApiClient, ApiError
from edge.inputs import PollResult, SnapshotReceived, TicketCleared, TicketReceived

log = logging.getLogger(__name__)


class Poller:
    def __init__(
        self,
        *,
        api: ApiClient,
        interval_s: float,
        followed: Callable[[], Collection[str]],
        post: Callable[[object], None],
        startup_grace_s: float = 2.0,
    ) -> None:
        self._api = api
        self._interval_s = interval_s
        self._followed = followed
        self._post = post
        # At start-up MQTT usually connects within milliseconds; polling first would only
        # flash "polling" on the screen.
        self._startup_grace_s = startup_grace_s
        self._cond = threading.Condition()
        self._link_up = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="http-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._api.close()

    def link_changed(self, up: bool) -> None:
        with self._cond:
            self._link_up = up
            self._cond.notify_all()

    def _run(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._stopped or self._link_up, self._startup_grace_s)
            while not self._stopped:
                if self._link_up:
                    self._cond.wait()
                    continue
                self._cond.release()
                try:
                    self.poll_once()
                finally:
                    self._cond.acquire()
                # Wake early on stop or when the link comes back; polling then pauses.
                self._cond.wait_for(lambda: self._stopped or self._link_up, self._interval_s)

    def poll_once(self) -> bool:
        """One round: snapshot, then each followed ticket. Posts what it got and the outcome."""
        try:
            self._post(SnapshotReceived(self._api.queue(), live=False))
            for ticket_id in list(self._followed()):
                ticket = self._api.ticket(ticket_id)
                self._post(
                    TicketCleared(ticket_id) if ticket is None else TicketReceived(ticket, seq=None)
                )
        except ApiError as exc:
            log.warning("polling failed: %s", exc)
            self._post(PollResult(ok=False, detail=str(exc)))
            return False
        self._post(PollResult(ok=True))
        return True
