"""``/docs``: Swagger UI for ``/openapi.json``, every file of it served from ``node_modules``
(FastAPI's own /docs loads its scripts from a CDN).

Swagger UI starts from an inline script, which the pages' policy forbids; each of these two
pages carries its own Content-Security-Policy instead, allowing exactly its own inline scripts
(by hash), Swagger UI's inline styles and ``data:`` images, and still nothing from another host.
:mod:`publisher_api.security_headers` keeps a policy a response brings and adds the rest.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from publisher_api.routers.assets import swagger_ui
from publisher_api.security_headers import content_security_policy

DOCS_URL = "/docs"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def serve_docs(app: FastAPI) -> None:
    """Add ``/docs``, its OAuth2 redirect page and Swagger UI's files to ``app``."""
    assert app.openapi_url is not None
    redirect_url = app.swagger_ui_oauth2_redirect_url or f"{DOCS_URL}/oauth2-redirect"
    # Both pages are the same bytes for the app's whole life: built once, hashed once.
    docs = _with_own_policy(
        get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_URL}/favicon-32x32.png",
            oauth2_redirect_url=redirect_url,
        )
    )
    redirect = _with_own_policy(get_swagger_ui_oauth2_redirect_html())

    @app.get(DOCS_URL, include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(docs.body, headers=docs.headers)

    @app.get(redirect_url, include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return HTMLResponse(redirect.body, headers=redirect.headers)

    app.router.routes.append(swagger_ui(DOCS_URL))  # after the two pages above


def _with_own_policy(page: HTMLResponse) -> HTMLResponse:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body))
    )
    policy = content_security_policy(
        script_src=f"'self' {hashes}",
        style_src="'self' 'unsafe-inline'",
        img_src="'self' data:",
    )
    return HTMLResponse(page.body, headers={"Content-Security-Policy": policy})
