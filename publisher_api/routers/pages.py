"""Browser pages: public display, kiosk (totem), phone ticket follower, operator console.

The pages are static HTML + ES modules under ``publisher_api/web``; this router serves them, the
MQTT.js browser build straight from ``node_modules`` (installed by ``make`` from package-lock.json,
never copied into the repository), and the follower page's QR code as SVG.

Each page gets a small JSON configuration rendered into it: the tenant, the REST base path and the
MQTT topics it subscribes to, built here with :mod:`protocol.topics` so the browser never writes a
topic string of its own. An unknown tenant is a 404 (``PublicTenant``), like the public API.

Every response carries a Content-Security-Policy that allows nothing outside our own origin (plus
the broker's WebSocket origin when the broker listens on a port of its own).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from config import Settings
from protocol import topics as t
from protocol.identifiers import ID_PATTERN, ID_RULE, TICKET_ID_PATTERN, is_ticket_id
from publisher_api.deps import PublicTenant, SettingsDep, realtime_of
from publisher_api.routers.realtime import advertised_urls, public_base

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_REPO_ROOT = WEB_DIR.parent.parent
MQTT_JS = _REPO_ROOT / "node_modules" / "mqtt" / "dist" / "mqtt.esm.js"
"""MQTT.js's browser ES-module build, served at :data:`MQTT_JS_URL`."""

ASSETS_URL = "/web"
MQTT_JS_URL = f"{ASSETS_URL}/vendor/mqtt.esm.js"
CHART_JS = _REPO_ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
"""Chart.js's self-contained browser build (the admin statistics), served at CHART_JS_URL."""
CHART_JS_URL = f"{ASSETS_URL}/vendor/chart.umd.min.js"
TEXTS = _REPO_ROOT / "protocol" / "texts.json"
"""The one catalogue of user-facing texts (pages and pygame agents alike), served as is at
TEXTS_URL: i18n.js imports it as a JSON module, so nothing is generated or copied."""
TEXTS_URL = f"{ASSETS_URL}/texts.json"
IDENTIFIERS_JS_URL = f"{ASSETS_URL}/js/identifiers.js"
"""The id rules of protocol/identifiers.py as an ES module (the pages' only copy is this one)."""

# Only these kinds of file are served from WEB_DIR (HTML pages go through the page routes).
_ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_CONFIG_PLACEHOLDER = "__QUEUECAST_CONFIG__"

PageName = Literal["display", "totem", "ticket", "operator", "admin", "superadmin"]


# --- pages -------------------------------------------------------------------------------------


@router.get("/t/{tenant}/display", response_class=HTMLResponse)
def display_page(tenant: PublicTenant, request: Request, settings: SettingsDep) -> HTMLResponse:
    """Public call display for a TV: current call, history, chime and speech."""
    # devices: a paired display's own presence topic is built from it.
    topics = {"queue": t.queue_topic(tenant), "devices": t.device_status_wildcard(tenant)}
    return _page("display", tenant, topics, request, settings)


@router.get("/t/{tenant}/totem", response_class=HTMLResponse)
def totem_page(tenant: PublicTenant, request: Request, settings: SettingsDep) -> HTMLResponse:
    """Browser kiosk: choose a service, get a ticket with a QR code, see it called."""
    topics = {"queue": t.queue_topic(tenant), "devices": t.device_status_wildcard(tenant)}
    return _page("totem", tenant, topics, request, settings)


@router.get("/t/{tenant}/ticket/{ticket_id}", response_class=HTMLResponse)
def ticket_page(
    tenant: PublicTenant, ticket_id: str, request: Request, settings: SettingsDep
) -> HTMLResponse:
    """Phone follower of one ticket: position, estimated wait, live status, the call."""
    ticket_id = _ticket_id_or_404(ticket_id)
    # Its own ticket's topic only, never the queue document (kilobytes at every change of the
    # tenant, times every phone): the tenant's name and branding are read once over HTTP.
    topics = {
        "ticket": t.ticket_topic(tenant, ticket_id),
        # Fallback when the broker only grants the wildcard filter to public clients.
        "tickets": t.ticket_wildcard(tenant),
    }
    return _page("ticket", tenant, topics, request, settings, ticket_id=ticket_id)


@router.get("/t/{tenant}/operator", response_class=HTMLResponse)
def operator_page(tenant: PublicTenant, request: Request, settings: SettingsDep) -> HTMLResponse:
    """Operator console: login, counter, call and manage tickets, live queue, devices, stats."""
    topics = {
        "queue": t.queue_topic(tenant),
        "events": t.events_topic(tenant),
        "devices": t.device_status_wildcard(tenant),
    }
    return _page("operator", tenant, topics, request, settings)


@router.get("/t/{tenant}/admin", response_class=HTMLResponse)
def admin_page(tenant: PublicTenant, request: Request, settings: SettingsDep) -> HTMLResponse:
    """Tenant admin console: settings, branding, services, counters, users, devices, stats."""
    topics = {"queue": t.queue_topic(tenant), "devices": t.device_status_wildcard(tenant)}
    return _page("admin", tenant, topics, request, settings)


@router.get("/admin", response_class=HTMLResponse)
def superadmin_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Superadmin console: tenants, each with its first admin; suspend, resume, delete."""
    return _page("superadmin", "", {}, request, settings)


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
        headers={"Cache-Control": "private, max-age=86400", **_security_headers(None)},
    )


# --- assets ------------------------------------------------------------------------------------


@router.api_route(MQTT_JS_URL, methods=["GET", "HEAD"])
def mqtt_js(request: Request) -> Response:
    """MQTT.js from node_modules (never copied into the repository)."""
    if not MQTT_JS.is_file():
        raise HTTPException(
            status_code=503,
            detail="MQTT.js is not installed: run `make setup` (npm ci) to install node_modules",
        )
    return _file(request, MQTT_JS, _ASSET_TYPES[".js"])


@router.api_route(CHART_JS_URL, methods=["GET", "HEAD"])
def chart_js(request: Request) -> Response:
    """Chart.js from node_modules (never copied into the repository)."""
    if not CHART_JS.is_file():
        raise HTTPException(
            status_code=503,
            detail="Chart.js is not installed: run `make setup` (npm ci) to install node_modules",
        )
    return _file(request, CHART_JS, _ASSET_TYPES[".js"])


@router.api_route(TEXTS_URL, methods=["GET", "HEAD"])
def texts_catalogue(request: Request) -> Response:
    """protocol/texts.json, the texts the pages share with the agents (declared before the
    generic asset route, which serves nothing outside WEB_DIR)."""
    return _file(request, TEXTS, "application/json; charset=utf-8")


@router.api_route(IDENTIFIERS_JS_URL, methods=["GET", "HEAD"])
def identifiers_js() -> Response:
    """protocol/identifiers.py's patterns for the pages, served from the one definition."""
    return Response(
        _IDENTIFIERS_JS,
        media_type=_ASSET_TYPES[".js"],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


_IDENTIFIERS_JS = "\n".join(
    (
        "// Served by publisher_api from protocol/identifiers.py: edit the rule there.",
        f"export const ID_PATTERN = new RegExp({json.dumps(ID_PATTERN)});",
        f"export const ID_RULE = {json.dumps(ID_RULE)};",
        f"export const TICKET_ID_PATTERN = new RegExp({json.dumps(TICKET_ID_PATTERN)});",
        "",
    )
)


@router.api_route(ASSETS_URL + "/{path:path}", methods=["GET", "HEAD"])
def web_asset(path: str, request: Request) -> Response:
    """Our own scripts, styles and images (never the HTML templates, never outside WEB_DIR)."""
    if not path.isprintable():  # a NUL made resolve() raise: a 500 and a traceback per request
        raise HTTPException(status_code=404, detail="no such asset")
    file = (WEB_DIR / path).resolve()
    media_type = _ASSET_TYPES.get(file.suffix)
    if media_type is None or not file.is_relative_to(WEB_DIR) or not file.is_file():
        raise HTTPException(status_code=404, detail=f"no such asset: {path}")
    return _file(request, file, media_type)


def _file(request: Request, file: Path, media_type: str) -> Response:
    """The file, or 304 when the browser's copy is current: pages revalidate every asset on
    load (``no-cache``), so a phone on mobile data downloads MQTT.js once, not every time."""
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    response = FileResponse(file, media_type=media_type, headers=headers, stat_result=file.stat())
    etag = response.headers["etag"]
    if etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers={**headers, "ETag": etag})
    return response


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
    request: Request,
    settings: Settings,
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
    headers = {
        "Cache-Control": "no-cache",
        **_security_headers(_broker_ws_origin(request, settings)),
    }
    return HTMLResponse(html, headers=headers)


def _json_for_html(value: object) -> str:
    """JSON safe inside a ``<script type="application/json">`` element: no ``</script>``,
    no HTML comment or entity tricks."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _security_headers(ws_origin: str | None) -> dict[str, str]:
    """Nothing from outside our own origin; no inline script or style; not frameable."""
    # 'self' also covers ws:// and wss:// to our own host and port (CSP level 3), which is where
    # the broker listens by default (the HTTP server's /mqtt path).
    connect = "'self'" if ws_origin is None else f"'self' {ws_origin}"
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            "media-src 'self'",
            # MQTT.js runs its keep-alive timers in a worker it builds from a blob: URL, so a
            # background tab's throttled timers cannot starve the pings (without it the broker
            # drops every page 1.5 keep-alives after it connects). Workers only: scripts stay
            # 'self'. 'self' for the phone page's notification service worker (Android Chrome
            # shows page notifications only through one).
            "worker-src 'self' blob:",
            f"connect-src {connect}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        # Ticket ids in our URLs are capabilities: never leak them in a Referer.
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def _broker_ws_origin(request: Request, settings: Settings) -> str | None:
    """The broker's WebSocket origin when it is not our own, exactly as ``mqtt-credentials``
    advertises it (a dedicated WebSocket port, a separate or external broker)."""
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
