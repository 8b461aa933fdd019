"""Where a phone reaches a ticket's follower page: the QR code on the kiosk's screen and paper.

The API publishes the tenant's public base URL (``public_url``, from ``QUEUECAST_PUBLIC_URL``) in
the queue document every screen reads; a kiosk's ``--api`` is often a LAN address no phone on
mobile data can open, so it is only the fallback when the server publishes none.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from protocol import QueueUpdate


def published_url(snapshot: QueueUpdate | None) -> str | None:
    """The tenant's public base URL from the queue document, if it carries a usable one."""
    # Read by name: the field arrives with the server side of issue 14 (branch `kiosk`); a
    # server that does not publish it yet leaves the kiosk on --api.
    value = getattr(snapshot, "public_url", None) if snapshot is not None else None
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value.strip().rstrip("/")


def ticket_page_url(public_url: str | None, api: str, tenant: str, ticket_id: str) -> str:
    base = public_url or api.rstrip("/")
    return f"{base}/t/{quote(tenant, safe='')}/ticket/{quote(ticket_id, safe='')}"
