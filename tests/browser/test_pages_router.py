"""The pages router over real HTTP (the app in-process, its own database and broker): pages with
their configuration and security headers, assets only from our folder and node_modules, the
ticket QR code, and clear errors for bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol import topics
from publisher_api.routers.assets import MQTT_JS, SWAGGER_UI_DIR, TEXTS
from publisher_api.routers.pages import qr_svg
from tests.browser.conftest import OpenPage
from tests.support.system import RunningSystem, start_system

TENANT = "default"
PAGES = ["display", "totem", "operator", "ticket/abc123", "admin"]
PUBLIC_URL = "https://fila.example.org/"
BROKER_WS = "wss://mqtt.example.org:8884/mqtt"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("pages")) as running:
        yield running


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """A system that advertises a public URL and a broker WebSocket elsewhere."""
    env = {"QUEUECAST_PUBLIC_URL": PUBLIC_URL, "QUEUECAST_MQTT_PUBLIC_WS_URL": BROKER_WS}
    with start_system(tmp_path_factory.mktemp("configured"), env=env) as running:
        yield running


@pytest.fixture
def client(system: RunningSystem) -> httpx.Client:
    return system.http


def page_config(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="qc-config">(.*?)</script>', html)
    assert match, "the page has no configuration"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_served_with_a_strict_content_security_policy(
    client: httpx.Client, page: str
) -> None:
    response = client.get(f"/t/{TENANT}/{page}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    for kind in ("script-src", "style-src", "img-src", "connect-src", "font-src"):
        assert directives[kind] == "'self'", kind  # nothing from anywhere else
    assert directives["frame-ancestors"] == "'none'"
    # MQTT.js's keep-alive timers run in a worker built from a blob: URL (test_keepalive.py).
    assert directives["worker-src"] == "'self' blob:"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    # Nothing inline that the policy would have to allow, and no absolute URLs to elsewhere.
    assert "<style" not in response.text
    assert " style=" not in response.text
    own_scripts = r'<script(?![^>]*(?:type="application/json"|src="/web/))'
    assert re.findall(own_scripts, response.text) == []
    assert "http://" not in response.text
    assert "https://" not in response.text


def test_page_configuration_carries_the_protocols_topics(client: httpx.Client) -> None:
    display = page_config(client.get(f"/t/{TENANT}/display").text)
    assert display["tenant"] == TENANT
    assert display["api"] == f"/api/v1/tenants/{TENANT}"
    assert display["topics"] == {
        "queue": topics.queue_topic(TENANT),
        "devices": topics.device_status_wildcard(TENANT),  # a paired display's presence
    }
    operator = page_config(client.get(f"/t/{TENANT}/operator").text)
    assert operator["topics"] == {
        "queue": topics.queue_topic(TENANT),
        "events": topics.events_topic(TENANT),
        "devices": topics.device_status_wildcard(TENANT),
    }
    follower = page_config(client.get(f"/t/{TENANT}/ticket/t-42").text)
    assert follower["ticket_id"] == "t-42"
    assert follower["topics"] == {  # never the queue document: a phone follows its ticket
        "ticket": topics.ticket_topic(TENANT, "t-42"),
        "tickets": topics.ticket_wildcard(TENANT),
    }


def test_a_separate_brokers_websocket_origin_is_allowed_and_nothing_more(
    configured: RunningSystem,
) -> None:
    policy = configured.http.get(f"/t/{TENANT}/display").headers["content-security-policy"]
    assert "connect-src 'self' wss://mqtt.example.org:8884;" in policy


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/t/nope/display", 404),  # unknown tenant
        ("/t/UPPER/display", 422),  # not a tenant id
        ("/t/a+b/operator", 422),
        (f"/t/{TENANT}/ticket/bad%2Fid", 404),  # not a ticket id
        (f"/t/{TENANT}/ticket/{'x' * 65}", 404),
        (f"/t/{TENANT}/ticket/bad.id/qr.svg", 404),
    ],
)
def test_bad_tenants_and_ticket_ids_get_a_clear_json_error(
    client: httpx.Client, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/web/display.html",  # templates only through the page routes
        "/web/../routers/pages.py",
        "/web/%2e%2e/routers/pages.py",
        "/web/js/nope.js",
        "/web/js",
        "/web/",
        "/web/js/live.js%00",  # a NUL once made a 500 and a traceback
        "/web/vendor/mqtt.js",  # only the one build of each npm package
        "/web/" + "x" * 300 + ".js",
    ],
)
def test_assets_never_leave_the_web_folder(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "message" in response.json()


def test_scripts_and_styles_are_served_with_their_types(client: httpx.Client) -> None:
    script = client.get("/web/js/live.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "export class LiveConnection" in script.text
    style = client.get("/web/css/base.css")
    assert style.headers["content-type"].startswith("text/css")


def test_the_text_catalogue_is_served_from_protocol_as_json(client: httpx.Client) -> None:
    # i18n.js imports "../texts.json" (a JSON module): the one file the pygame agents read too.
    response = client.get("/web/texts.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == TEXTS.read_bytes()
    assert Path("protocol/texts.json").resolve() == TEXTS
    assert not Path("publisher_api/web/texts.json").exists(), "served, never copied"
    assert 'from "../texts.json" with { type: "json" }' in client.get("/web/js/i18n.js").text


@pytest.mark.skipif(not MQTT_JS.exists(), reason="node_modules not installed (make setup)")
def test_mqtt_js_comes_from_node_modules_and_is_downloaded_once(client: httpx.Client) -> None:
    response = client.get("/web/vendor/mqtt.esm.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == MQTT_JS.read_bytes()
    assert not (Path("publisher_api/web/vendor")).exists(), "MQTT.js must not be copied in"
    etag = response.headers["etag"]
    again = client.get("/web/vendor/mqtt.esm.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = client.get("/web/vendor/mqtt.esm.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200
    head = client.head("/web/js/live.js")
    assert head.status_code == 200
    assert head.headers["etag"]


def test_ticket_qr_code_opens_the_follower_page(
    system: RunningSystem, configured: RunningSystem
) -> None:
    default = system.http.get(f"/t/{TENANT}/ticket/t-42/qr.svg")
    assert default.status_code == 200
    assert default.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in default.content[:200]
    # Without a configured public URL the QR code points at the host the kiosk used.
    assert default.content == qr_svg(f"{system.base_url}/t/{TENANT}/ticket/t-42")
    configured_qr = configured.http.get(f"/t/{TENANT}/ticket/t-42/qr.svg")
    assert configured_qr.content == qr_svg(f"https://fila.example.org/t/{TENANT}/ticket/t-42")
    assert configured_qr.content != default.content


def test_the_dev_start_up_prints_every_page_address_and_each_is_served(
    system: RunningSystem, client: httpx.Client
) -> None:
    log = system.api.log_path.read_text(errors="replace")
    printed = re.findall(r"^  [A-Za-z ]+:\s+(http://\S+)", log, flags=re.MULTILINE)
    paths = {re.sub(r"^http://[^/]+", "", url) for url in printed}
    assert {"/t/default/display", "/t/default/totem", "/t/default/operator"} <= paths
    assert {"/t/default/admin", "/admin", "/docs"} <= paths
    for url in printed:
        response = client.get(re.sub(r"^http://[^/]+", "", url))
        assert response.status_code == 200, (url, response.status_code)


def test_static_files_answer_only_get_and_head(client: httpx.Client) -> None:
    response = client.post("/web/js/live.js")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    since = client.get("/web/css/base.css").headers["last-modified"]
    unchanged = client.get("/web/css/base.css", headers={"If-Modified-Since": since})
    assert unchanged.status_code == 304


def test_security_headers_by_kind_of_response(client: httpx.Client) -> None:
    """Documents (HTML, SVG) get the whole set; files a page loads get nosniff; the REST API's
    JSON is left alone (security_headers.py says why)."""
    for document in (f"/t/{TENANT}/display", "/web/img/icon.svg", f"/t/{TENANT}/ticket/t-1/qr.svg"):
        headers = client.get(document).headers
        assert headers["content-security-policy"].startswith("default-src 'none'"), document
        assert headers["x-frame-options"] == "DENY", document
        assert headers["referrer-policy"] == "no-referrer", document
        assert headers["x-content-type-options"] == "nosniff", document
    script = client.get("/web/js/live.js")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.headers["cache-control"] == "no-cache"
    assert "content-security-policy" not in script.headers
    again = client.get("/web/js/live.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["x-content-type-options"] == "nosniff"
    assert again.headers["cache-control"] == "no-cache"
    assert client.get("/web/no.js").headers["x-content-type-options"] == "nosniff"  # 404 too
    api = client.get(f"/api/v1/tenants/{TENANT}/queue")
    assert api.status_code == 200
    assert "x-content-type-options" not in api.headers
    assert "content-security-policy" not in api.headers


@pytest.mark.skipif(not SWAGGER_UI_DIR.exists(), reason="node_modules not installed")
def test_docs_render_under_their_own_policy(
    system: RunningSystem, client: httpx.Client, open_page: OpenPage
) -> None:
    """Swagger UI starts from an inline script: /docs allows exactly that one (by hash), never
    inline scripts in general; the CSP watch of ``open_page`` fails the test on a violation."""
    policy = client.get("/docs").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert re.fullmatch(r"'self' 'sha256-[A-Za-z0-9+/]+={0,2}'", directives["script-src"])
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    watched = open_page(f"{system.base_url}/docs")
    watched.page.wait_for_selector(".opblock", timeout=20_000)  # the operations are listed
    assert watched.errors == []
    assert watched.foreign({system.base_url}) == []
