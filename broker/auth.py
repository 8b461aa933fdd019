"""CONNECT-time authentication: the MQTT password is a QueueCast token; the username is free.

The token is verified once, here, and turned into a :class:`~broker.policy.Grant` that the
session keeps; nothing is decoded again per message. ``token_active`` (given by the API) lets a
revoked device or a removed user be refused even while its token has not expired yet.

A reconnect storm brings thousands of CONNECTs carrying the same few tokens (every public page of
a tenant shares one), so both steps are shared:

- a verified token's grant is remembered (keyed by the token's SHA-256, never the token itself)
  until the token expires; a forged or expired token is never remembered;
- ``token_active``'s answer for a principal is remembered (:mod:`broker.verdicts`: until its
  credentials change, at most ``max_age`` seconds), so a CONNECT that finds one decides on the
  loop, without a worker thread or an await; CONNECTs of the same principal that arrive while a
  check of it is running wait for that check instead of starting their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from broker.packets import CONNACK_BAD_CREDENTIALS, CONNACK_NOT_AUTHORIZED
from broker.policy import Grant, grant_for
from broker.verdicts import Verdicts
from protocol import InvalidToken, Principal, verify_token

logger = logging.getLogger(__name__)

TokenActive = Callable[[Principal], bool]

VERIFIED_TOKENS = 10_000
"""Grants remembered at most (least recently used first out): one per distinct token, so a few
hundred bytes each; beyond it a token is simply verified again."""


class Refused(Exception):
    """CONNECT refused: ``code`` goes into the CONNACK, ``reason`` into the log (never a secret)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Authenticator:
    def __init__(
        self,
        secret: str,
        token_active: TokenActive | None = None,
        *,
        clock: Callable[[], float] = time.time,
        verdicts: Verdicts | None = None,
    ) -> None:
        """``verdicts``: where ``token_active``'s answers are remembered (default: for 30 s)."""
        self._secret = secret
        self._token_active = token_active
        self._clock = clock
        self._verified: OrderedDict[bytes, Grant] = OrderedDict()
        self.verdicts = verdicts if verdicts is not None else Verdicts(30.0)
        self._checks: dict[tuple[Principal, int], asyncio.Task[bool]] = {}

    async def grant(self, password: str | None) -> Grant:
        """The grant for a CONNECT password, or :class:`Refused`."""
        grant, _ = await self.admit(password)
        return grant

    async def admit(self, password: str | None) -> tuple[Grant, int]:
        """The grant for a CONNECT password, or :class:`Refused`; with the
        ``verdicts.generation`` its revocation answer holds for (if the generation has moved on
        by the time the session is registered, the caller asks :meth:`still_active`)."""
        grant = self._verified_grant(password or "")
        generation = self.verdicts.generation
        if self._token_active is None:
            return grant, generation
        principal = grant.principal
        active = self.verdicts.get(principal)
        if active is None:
            active = await self._is_active(principal, generation)
        if not active:
            raise Refused(CONNACK_NOT_AUTHORIZED, f"token of {grant.identity} was revoked")
        return grant, generation

    async def still_active(self, principal: Principal) -> bool:
        """``token_active``'s answer as of now (remembered, or asked)."""
        if self._token_active is None:
            return True
        active = self.verdicts.get(principal)
        if active is None:
            active = await self._is_active(principal, self.verdicts.generation)
        return active

    def _verified_grant(self, token: str) -> Grant:
        key = hashlib.sha256(token.encode()).digest()
        grant = self._verified.get(key)
        if grant is not None:
            if self._clock() < grant.principal.expires_at.timestamp():
                self._verified.move_to_end(key)
                return grant
            del self._verified[key]  # expired: verify_token below says so (with its leeway)
        try:
            principal = verify_token(token, secret=self._secret)
        except InvalidToken as exc:
            raise Refused(CONNACK_BAD_CREDENTIALS, str(exc)) from None
        try:
            grant = grant_for(principal)
        except ValueError as exc:
            raise Refused(CONNACK_NOT_AUTHORIZED, f"token cannot be scoped: {exc}") from None
        self._verified[key] = grant
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return grant

    async def _is_active(self, principal: Principal, generation: int) -> bool:
        # One check per principal and generation: a check started before credentials changed
        # is not shared with CONNECTs that arrive after.
        key = (principal, generation)
        check = self._checks.get(key)
        if check is None:
            check = asyncio.get_running_loop().create_task(self._check(principal, generation))
            self._checks[key] = check
            check.add_done_callback(lambda _: self._checks.pop(key, None))
        # Shielded: a CONNECT that gives up (timeout, closed socket) leaves the shared check be.
        return await asyncio.shield(check)

    async def _check(self, principal: Principal, generation: int) -> bool:
        assert self._token_active is not None
        try:
            # Blocking by contract (the API may look at its database): keep the loop free.
            active = bool(await asyncio.to_thread(self._token_active, principal))
        except Exception:
            logger.exception(
                "token_active failed for %s: refusing (fail closed)", principal.subject
            )
            return False  # not remembered: the next CONNECT asks again
        self.verdicts.remember(principal, active, generation)
        return active
