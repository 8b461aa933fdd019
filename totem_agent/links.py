"""Where a phone reaches a ticket's follower page: the QR code on the kiosk's screen and paper.

The API publishes the tenant's public base URL (``public_url`` of ``GET .../mqtt-credentials``:
``QUEUECAST_PUBLIC_URL``, else the address the request reached); a kiosk's ``--api`` is often a
LAN address no phone on mobile data can open, so it is only the fallback, while the kiosk has
not learnt the public one or the server publishes none (an older server).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit


def usable_public_url(value: object) -> str | None:
    """``value`` as a base URL for phones, or ``None`` when it is not an http(s) URL."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return text.rstrip("/")


def ticket_page_url(public_url: str | None, api: str, tenant: str, ticket_id: str) -> str:
    base = public_url or api.rstrip("/")
    return f"{base}/t/{quote(tenant, safe='')}/ticket/{quote(ticket_id, safe='')}"
