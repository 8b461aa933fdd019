"""The tenant's branding on an agent's screen: its logo (fetched once per logo URL from the API,
decoded by pygame, kept in memory) and its accent colour, both from the queue snapshot
(``logo_url``, ``accent_color``).

The logo's URL changes with every upload, so one fetch per URL is all a device ever makes; a
fetch that fails is not retried for that URL until :data:`RETRY_AFTER_S` has passed. The fetch
is small (at most 256 KiB) and bounded by a short timeout; it happens on the first frame that
shows a new logo.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections.abc import Callable

import httpx

from edge.pg import pygame
from edge.ui.theme import Color

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 3.0
RETRY_AFTER_S = 300.0
_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")

Fetch = Callable[[str], bytes]


def accent(value: str | None) -> Color | None:
    """``#rrggbb`` as a colour; None for no or a malformed value."""
    match = _HEX.match(value or "")
    if match is None:
        return None
    raw = int(match.group(1), 16)
    return ((raw >> 16) & 0xFF, (raw >> 8) & 0xFF, raw & 0xFF)


class LogoCache:
    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._logos: dict[str, pygame.Surface | None] = {}
        self._failed_at: dict[str, float] = {}

    def surface(self, url: str | None) -> pygame.Surface | None:
        if url is None:
            return None
        with self._lock:
            if url in self._logos:
                return self._logos[url]
            failed = self._failed_at.get(url)
        if failed is not None and time.monotonic() - failed < RETRY_AFTER_S:
            return None
        try:
            data = self._fetch(url)
            name = "logo.svg" if data.lstrip()[:1] == b"<" else "logo"
            logo = pygame.image.load(io.BytesIO(data), name)
        except Exception as exc:  # network, HTTP or an image pygame cannot decode
            log.warning("tenant logo %s not shown: %s", url, exc)
            with self._lock:
                self._failed_at[url] = time.monotonic()
            return None
        with self._lock:
            self._logos = {url: logo}  # only the current logo is worth keeping
        return logo


def http_fetch(api_base: str, timeout_s: float = FETCH_TIMEOUT_S) -> Fetch:
    """Fetch a logo path (``/api/v1/tenants/t/logo?v=...``, public) from the API."""

    def fetch(path: str) -> bytes:
        response = httpx.get(api_base.rstrip("/") + path, timeout=timeout_s)
        response.raise_for_status()
        return response.content

    return fetch


_cache: LogoCache | None = None


def configure(fetch: Fetch | None) -> None:
    """Where logos come from (the agent's API); None: no logos are shown."""
    global _cache
    _cache = None if fetch is None else LogoCache(fetch)


def logo(url: str | None) -> pygame.Surface | None:
    return None if _cache is None else _cache.surface(url)
