"""The device token an agent presents, renewed before it expires.

One holder is shared by the agent's HTTP clients and its MQTT link, so a renewal reaches every
request and the next MQTT connection at once. A token read from a file is written back there
(atomically, owner-only), so a restart keeps the renewed token; one given on the command line or
in the environment lives in memory only, and the agent says so in its log.
"""

from __future__ import annotations

import os
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

from protocol import InvalidToken, Principal
from protocol.auth import peek_token

RENEW_WHEN_LEFT = timedelta(days=30)
"""Renew once less than this is left: a month of retries if the API is away."""


class DeviceCredential:
    def __init__(self, token: str, *, file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._token = token
        self._identity = peek_token(token)
        self.file = file

    def current(self) -> str:
        with self._lock:
            return self._token

    @property
    def identity(self) -> Principal:
        with self._lock:
            return self._identity

    def due(self, now: datetime) -> bool:
        """Whether it is time to renew (``now`` timezone-aware)."""
        return self.identity.expires_at - now <= RENEW_WHEN_LEFT

    def replace(self, token: str) -> None:
        """Adopt a renewed token; refuses one for another device or token id (a confused or
        hostile answer must not change who this device is)."""
        try:
            new = peek_token(token)
        except InvalidToken as exc:
            raise ValueError(f"renewed token: {exc}") from None
        old = self.identity
        if (new.subject, new.tenant, new.role, new.token_id) != (
            old.subject,
            old.tenant,
            old.role,
            old.token_id,
        ):
            raise ValueError("the renewed token is for another device or token id")
        if self.file is not None:
            write_private(self.file, token + "\n")
        with self._lock:
            self._token, self._identity = token, new


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` in one step (never a half-written token), readable by its owner only."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
