"""CONNECT-time authentication: the MQTT password is a QueueCast token; the username is free.

The token is verified once, here, and turned into a :class:`~broker.policy.Grant` that the
session keeps; nothing is decoded again per message. ``token_active`` (given by the API) lets a
revoked device or a removed user be refused even while its token has not expired yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from broker.packets import CONNACK_BAD_CREDENTIALS, CONNACK_NOT_AUTHORIZED
from broker.policy import Grant, grant_for
from protocol import InvalidToken, Principal, verify_token

logger = logging.getLogger(__name__)

TokenActive = Callable[[Principal], bool]


class Refused(Exception):
    """CONNECT refused: ``code`` goes into the CONNACK, ``reason`` into the log (never a secret)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Authenticator:
    def __init__(self, secret: str, token_active: TokenActive | None = None) -> None:
        self._secret = secret
        self._token_active = token_active

    async def grant(self, password: str | None) -> Grant:
        """The grant for a CONNECT password, or :class:`Refused`."""
        try:
            principal = verify_token(password or "", secret=self._secret)
        except InvalidToken as exc:
            raise Refused(CONNACK_BAD_CREDENTIALS, str(exc)) from None
        try:
            grant = grant_for(principal)
        except ValueError as exc:
            raise Refused(CONNACK_NOT_AUTHORIZED, f"token cannot be scoped: {exc}") from None
        if self._token_active is not None and not await self._is_active(principal):
            raise Refused(CONNACK_NOT_AUTHORIZED, f"token of {grant.identity} was revoked")
        return grant

    async def _is_active(self, principal: Principal) -> bool:
        assert self._token_active is not None
        try:
            # Blocking by contract (the API may look at its database): keep the loop free.
            return bool(await asyncio.to_thread(self._token_active, principal))
        except Exception:
            logger.exception(
                "token_active failed for %s: refusing (fail closed)", principal.subject
            )
            return False
