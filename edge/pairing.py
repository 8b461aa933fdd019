"""``--pair CODE``: an agent exchanges the one-time code an admin shows (Administration ->
Devices) for its own device token (``POST /api/v1/pair``) and writes it to
``--device-token-file``, once, before it starts. Both agents call :func:`pair_if_asked`.

A code is single-use, so a unit file that keeps ``--pair`` after the first start must still
start: when the token file already holds a device token of this tenant, the code is not used.
"""

from __future__ import annotations

import logging

import httpx

from edge.credential import write_private
from edge.settings import AgentSettings
from protocol import InvalidToken
from protocol.auth import peek_token

log = logging.getLogger(__name__)

PAIR_PATH = "/api/v1/pair"


class PairingFailed(SystemExit):
    """Exit with a message people can act on (wrong or expired code, API unreachable)."""


def pair_if_asked(settings: AgentSettings, *, timeout_s: float = 15.0) -> None:
    code = settings.pair
    if code is None:
        return
    file = settings.device_token_file
    assert file is not None  # AgentSettings requires it with --pair
    if _holds_token(settings):
        log.info("%s already holds a device token: not using the pairing code", file)
        return
    try:
        response = httpx.post(
            settings.api + PAIR_PATH,
            json={"tenant": settings.tenant, "code": code},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        raise PairingFailed(f"pairing: cannot reach {settings.api} ({exc})") from None
    if response.status_code != 200:
        error = _error_code(response)
        if error == "pairing_code_invalid":
            raise PairingFailed("pairing: wrong or expired code; ask the admin for a new one")
        raise PairingFailed(f"pairing refused: HTTP {response.status_code} {error}")
    paired = response.json()
    file.parent.mkdir(parents=True, exist_ok=True)
    write_private(file, str(paired["token"]) + "\n")
    log.info("paired as %s device %r; token written to %s", paired["role"], paired["id"], file)


def _holds_token(settings: AgentSettings) -> bool:
    file = settings.device_token_file
    if file is None or not file.is_file():
        return False
    try:
        principal = peek_token(file.read_text().strip())
    except InvalidToken:
        return False
    return principal.is_device and principal.tenant == settings.tenant


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return ""
