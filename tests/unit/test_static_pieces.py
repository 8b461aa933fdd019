"""The static files and the security-header middleware on a bare Starlette app (no database, no
broker): what a missing npm file answers, and which responses get which headers."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from publisher_api.routers.assets import Files, FilesMount
from publisher_api.security_headers import SecurityHeaders


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_missing_npm_file_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "here.js").write_text("export {};\n")
    files = Files(files={"here.js": tmp_path / "here.js", "gone.js": tmp_path / "gone.js"})
    app = Starlette(routes=[FilesMount("/vendor", app=files)])
    async with _client(app) as client:
        served = await client.get("/vendor/here.js")
        assert served.status_code == 200
        assert served.headers["content-type"] == "text/javascript; charset=utf-8"
        assert served.headers["cache-control"] == "no-cache"
        missing = await client.get("/vendor/gone.js")
        assert missing.status_code == 503
        assert "make setup" in missing.text
        assert (await client.get("/vendor/other.js")).status_code == 404  # only the files named


def _app(origins: list[Scope]) -> Starlette:
    def origin(scope: Scope) -> str | None:
        origins.append(scope)
        return "wss://mqtt.example.org:8884"

    def page(request: Request) -> Response:
        return HTMLResponse("<p>hi</p>")

    def own(request: Request) -> Response:
        return HTMLResponse(
            "<p>docs</p>", headers={"Content-Security-Policy": "default-src 'self'"}
        )

    def api(request: Request) -> Response:
        return JSONResponse({})

    app = Starlette(
        routes=[Route("/page", page), Route("/own", own), Route("/api/v1/x", api), Route("/x", api)]
    )
    app.add_middleware(SecurityHeaders, broker_origin=origin)
    return app


async def test_documents_get_the_policy_with_the_brokers_origin_and_keep_their_own() -> None:
    origins: list[Scope] = []
    async with _client(_app(origins)) as client:
        page = (await client.get("/page")).headers
        assert "connect-src 'self' wss://mqtt.example.org:8884;" in page["content-security-policy"]
        assert page["x-frame-options"] == "DENY"
        own = (await client.get("/own")).headers
        assert own["content-security-policy"] == "default-src 'self'"  # kept as it was
        assert own["referrer-policy"] == "no-referrer"
        assert len(origins) == 1  # asked only for the document whose policy it writes
        other = (await client.get("/x")).headers
        assert other["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in other
        api = (await client.get("/api/v1/x")).headers
        assert "x-content-type-options" not in api  # the REST API is left alone
        assert len(origins) == 1
