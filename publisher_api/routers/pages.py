"""Browser pages: public display, kiosk (totem), phone ticket follower, operator console.

The pages are static HTML + ES modules under ``publisher_api/web``; this router serves the pages
and the follower page's QR code as SVG (their scripts, styles and the npm builds they load are
static files: :mod:`publisher_api.routers.assets`).

Each page gets a small JSON configuration rendered into it: the tenant, the REST base path and the
MQTT topics it subscribes to, built here with :mod:`protocol.topics` so the browser never writes a
topic string of its own. An unknown tenant is a 404 (``PublicTenant``), like the public API.

Every page carries a Content-Security-Policy that allows nothing outside our own origin (plus
the broker's WebSocket origin when the broker listens on a port of its own, :func:`broker_origin`),
added by :mod:`publisher_api.security_headers` like the other security headers.
"""

from __future__ import annotations

import io
import json
from typing import Any, Literal
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.types import Scope

from config import Settings
from protocol import topics as t
from protocol.identifiers import is_ticket_id
from publisher_api.deps import PublicTenant, SettingsDep, realtime_of
from publisher_api.routers.assets import ASSETS_URL, WEB_DIR
from publisher_api.routers.realtime import advertised_urls, public_base

router = APIRouter(include_in_schema=False)

_CONFIG_PLACEHOLDER = "__QUEUECAST_CONFIG__"

PageName = Literal["display", "totem", "ticket", "operator", "admin", "superadmin"]


# --- pages -------------------------------------------------------------------------------------


@router.get("/t/{tenant}/display", response_class=HTMLResponse)
def display_page(tenant: PublicTenant) -> HTMLResponse:
    """Public call display for a TV: current call, history, chime and speech."""
    # devices: a paired display's own presence topic is built from it.
    topics = {"queue": t.queue_topic(tenant), "devices": t.device_status_wildcard(tenant)}
    return _page("display", tenant, topics)


@router.get("/t/{tenant}/totem", response_class=HTMLResponse)
def totem_page(tenant: PublicTenant) -> HTMLResponse:
    """Browser kiosk: choose a service, get a ticket with a QR code, see it called."""
    topics = {"queue": t.queue_topic(tenant), "devices": t.device_status_wildcard(tenant)}
    return _page("totem", tenant, topics)


@router.get("/t/{tenant}/ticket/{ticket_id}", response_class=HTMLResponse)
def ticket_page(tenant: PublicTenant, ticket_id: str) -> HTMLResponse:
    """Phone follower of one ticket: position, estimated wait, live status, the call."""
    ticket_id = _ticket_id_or_404(ticket_id)
    # Its own ticket's topic only, never the queue document (kilobytes at every change of the
    # tenant, times every phone): the tenant's name and branding are read once over HTTP.
    topics = {
        "ticket": t.ticket_topic(tenant, ticket_id),
        # Fallback when the broker only grants the wildcard filter to public clients.
        "tickets": t.ticket_wildcard(tenant),
    }
    return _page("ticket", tenant, topics, ticket_id=ticket_id)


@router.get("/t/{tenant}/operator", response_class=HTMLResponse)
def operator_page(tenant: PublicTenant) -> HTMLResponse:
    """Operator console: login, counter, call and manage tickets, live queue, devices, stats."""
    topics = {
        "queue": t.queue_topic(tenant),
        "events": t.events_topic(tenant),
        "devices": t.device_status_wildcard(tenant),
    }
    return _page("operator", tenant, topics)


@router.get("/t/{tenant}/admin", response_class=HTMLResponse)
def admin_page(tenant: PublicTenant) -> HTMLResponse:
    """Tenant admin console: settings, branding, services, counters, users, devices, stats."""
    topics = {"queue": t.queue_topic(tenant), "devices": t.device_status_wildcard(tenant)}
    return _page("admin", tenant, topics)


@router.get("/admin", response_class=HTMLResponse)
def superadmin_page() -> HTMLResponse:
    """Superadmin console: tenants, each with its first admin; suspend, resume, delete."""
    return _page("superadmin", "", {})


@router.get("/t/{tenant}/ticket/{ticket_id}/qr.svg")
def ticket_qr(
    tenant: PublicTenant, ticket_id: str, request: Request, settings: SettingsDep
) -> Response:
    """QR code (SVG) that opens the follower page of a ticket on a phone."""
    ticket_id = _ticket_id_or_404(ticket_id)
    url = f"{public_base(request, settings)}/t/{tenant}/ticket/{ticket_id}"
    return Response(
        content=qr_svg(url),
        media_type="image/svg+xml",
        # The URL inside depends on the address the client reached when no public URL is
        # configured, so the image must not be kept by a shared cache.
        headers={"Cache-Control": "private, max-age=86400"},
    )


# --- helpers -----------------------------------------------------------------------------------


def qr_svg(data: str) -> bytes:
    """An SVG QR code of ``data``: dark modules on a white, quiet-zone border (scans on any
    background), scaled by CSS."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def _page(
    name: PageName,
    tenant: str,
    topics: dict[str, str],
    **extra: str,
) -> HTMLResponse:
    config: dict[str, Any] = {
        "page": name,
        "tenant": tenant,
        "api": f"/api/v1/tenants/{tenant}",
        "auth_url": "/api/v1/auth/token",
        "renew_url": "/api/v1/auth/renew",
        "assets": ASSETS_URL,
        "topics": topics,
        **extra,
    }
    template = (WEB_DIR / f"{name}.html").read_text(encoding="utf-8")
    html = template.replace(_CONFIG_PLACEHOLDER, _json_for_html(config))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


def _json_for_html(value: object) -> str:
    """JSON safe inside a ``<script type="application/json">`` element: no ``</script>``,
    no HTML comment or entity tricks."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def broker_origin(scope: Scope) -> str | None:
    """The broker's WebSocket origin when it is not our own, exactly as ``mqtt-credentials``
    advertises it (a dedicated WebSocket port, a separate or external broker): what the pages'
    Content-Security-Policy allows them to connect to besides our origin."""
    request = Request(scope)
    settings: Settings = request.app.state.settings
    realtime = realtime_of(request.app)
    _, ws_url = advertised_urls(settings, realtime, request)
    if ws_url is None:
        return None
    ws = urlsplit(ws_url)
    ours = request.url
    same_scheme = {"ws": "http", "wss": "https"}.get(ws.scheme) == ours.scheme
    if same_scheme and ws.netloc == ours.netloc:
        return None  # 'self' already covers it
    return f"{ws.scheme}://{ws.netloc}"


def _ticket_id_or_404(ticket_id: str) -> str:
    if not is_ticket_id(ticket_id):
        raise HTTPException(status_code=404, detail=f"invalid ticket id {ticket_id!r}")
    return ticket_id
