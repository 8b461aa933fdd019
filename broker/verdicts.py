"""What ``token_active`` last answered for each identity, so a CONNECT asks it at most once per
change of credentials (or per ``max_age`` seconds), not once per connection.

Why: ``token_active`` blocks (the API's directory, or the database for ``python -m broker``), so
every CONNECT used to hop to a worker thread and back: ~11 % of the broker's CPU in a reconnect
storm where thousands of screens share one public token. Here a CONNECT whose identity has a
fresh answer decides with a dict lookup, on the loop, with no await.

Revocation stays bounded:

- in the API's process every commit that changes who may connect ends in
  :func:`broker.revocation.credentials_changed`, which calls :meth:`Verdicts.forget` for the
  tenant's identities (and the tenant-less superadmins) before anything else runs on the loop:
  the next CONNECT of a revoked token asks again and is refused at once, as before;
- ``python -m broker`` hears of no commit: an answer is used for at most ``max_age`` seconds
  (``QUEUECAST_MQTT_REVOCATION_CHECK_S``, the interval at which it also closes revoked live
  connections), so a revoked token is refused at CONNECT within that interval;
- ``generation`` counts the ``forget`` calls: an answer read while one happened is not kept
  (it may predate the commit), and a CONNECT admitted on such an answer is checked again once
  its session is registered (:meth:`broker.core.TenantBroker._handle_client_session`).

Refusals are remembered too (a revoked device retrying in a loop costs a lookup); a failed
check (database away) is never remembered: it refuses, and the next CONNECT asks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol import Principal

MAX_REMEMBERED = 100_000
"""Identities remembered at most (oldest answer first out): one per device or user, a few
dozen bytes each; beyond it an identity is simply asked about again."""


class Verdicts:
    def __init__(self, max_age: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_age = max_age
        self._clock = clock
        self._known: dict[Principal, tuple[bool, float]] = {}  # oldest answer first
        self.generation = 0
        """Bumped by every :meth:`forget`."""

    def __len__(self) -> int:
        return len(self._known)

    def get(self, principal: Principal) -> bool | None:
        """The remembered answer, or ``None`` when there is none younger than ``max_age``."""
        known = self._known.get(principal)
        if known is None:
            return None
        if self._clock() - known[1] >= self._max_age:
            del self._known[principal]
            return None
        return known[0]

    def remember(self, principal: Principal, active: bool, generation: int) -> None:
        """Keep an answer read while ``generation`` was current; dropped if a :meth:`forget`
        came in between."""
        if generation != self.generation:
            return
        self._known.pop(principal, None)
        self._known[principal] = (active, self._clock())
        if len(self._known) > MAX_REMEMBERED:
            del self._known[next(iter(self._known))]

    def forget(self, affected: Callable[[Principal], bool]) -> None:
        """Credentials changed for the identities ``affected`` selects: ask about them again."""
        self.generation += 1
        for principal in [p for p in self._known if affected(p)]:
            del self._known[principal]
