"""The pages' static files, served by Starlette's ``StaticFiles``: our scripts, styles and images
from ``publisher_api/web``, the text catalogue from ``protocol/``, the browser builds of MQTT.js
and Chart.js straight from ``node_modules`` (installed by ``make`` from package-lock.json, never
copied into the repository), and Swagger UI's files for ``/docs``.

``StaticFiles`` brings the path checks (nothing outside the folder; ``..``, NUL and absolute
paths refused), HEAD, and ETag / Last-Modified with 304 answers. :class:`Files` narrows what it
serves to named kinds of file (never the HTML templates: pages go through their routes), gives
each its media type and has browsers revalidate every load (``no-cache``): a phone on mobile data
downloads MQTT.js once and gets a 304 after that. The security headers come from
:mod:`publisher_api.security_headers`, as for every page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse
from starlette.routing import Match, Mount
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

from protocol.identifiers import ID_PATTERN, ID_RULE, TICKET_ID_PATTERN

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_REPO_ROOT = WEB_DIR.parent.parent
_NODE_MODULES = _REPO_ROOT / "node_modules"

ASSETS_URL = "/web"
MQTT_JS = _NODE_MODULES / "mqtt" / "dist" / "mqtt.esm.js"
"""MQTT.js's browser ES-module build, served at :data:`MQTT_JS_URL`."""
MQTT_JS_URL = f"{ASSETS_URL}/vendor/mqtt.esm.js"
CHART_JS = _NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js"
"""Chart.js's self-contained browser build (the admin statistics), served at CHART_JS_URL."""
CHART_JS_URL = f"{ASSETS_URL}/vendor/chart.umd.min.js"
TEXTS = _REPO_ROOT / "protocol" / "texts.json"
"""The one catalogue of user-facing texts (pages and pygame agents alike), served as is at
TEXTS_URL: i18n.js imports it as a JSON module, so nothing is generated or copied."""
TEXTS_URL = f"{ASSETS_URL}/texts.json"
IDENTIFIERS_JS_URL = f"{ASSETS_URL}/js/identifiers.js"
"""The id rules of protocol/identifiers.py as an ES module (the pages' only copy is this one)."""
SWAGGER_UI_DIR = _NODE_MODULES / "swagger-ui-dist"
"""Swagger UI from npm (package.json pins it): /docs loads nothing from another host."""
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
}
_REVALIDATE = {"Cache-Control": "no-cache"}
_NPM = "not installed: run `make setup` (npm ci) to install node_modules"


class Files(StaticFiles):
    """``StaticFiles`` for the files of ``directory`` whose suffix is in ``suffixes``, plus the
    single ``files`` by the name they are served under (a file of ``node_modules``, the text
    catalogue); a missing one of those is 503 with how to install it."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        suffixes: Collection[str] = (),
        files: Mapping[str, Path] | None = None,
    ) -> None:
        super().__init__(directory=directory, check_dir=directory is not None)
        self.suffixes = frozenset(suffixes)
        self.files = dict(files or {})

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        file = self.files.get(path)
        if file is not None:
            try:
                return str(file), file.stat()
            except FileNotFoundError:
                raise HTTPException(status_code=503, detail=f"{path} is {_NPM}") from None
        if self.directory is None or os.path.splitext(path)[1] not in self.suffixes:
            return "", None
        return super().lookup_path(path)

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=MEDIA_TYPES[os.path.splitext(full_path)[1]],
            headers=_REVALIDATE,
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


class FilesMount(Mount):
    """A mount that names itself as the request's route, as FastAPI's routes do, so the HTTP
    metrics label its requests by the mount's path (``/web``) rather than as unmatched."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def mounts() -> list[Mount]:
    """The pages' files under :data:`ASSETS_URL` (after the routes: identifiers.js is one)."""
    vendor = {"mqtt.esm.js": MQTT_JS, "chart.umd.min.js": CHART_JS}
    own = Files(WEB_DIR, suffixes=(".js", ".css", ".svg"), files={"texts.json": TEXTS})
    return [
        FilesMount(f"{ASSETS_URL}/vendor", app=Files(files=vendor)),
        FilesMount(ASSETS_URL, app=own),
    ]


def swagger_ui(path: str) -> Mount:
    """Swagger UI's own files (and nothing else of its package) under ``path``."""
    return FilesMount(path, app=Files(files={n: SWAGGER_UI_DIR / n for n in SWAGGER_FILES}))


@router.api_route(IDENTIFIERS_JS_URL, methods=["GET", "HEAD"])
def identifiers_js() -> Response:
    """protocol/identifiers.py's patterns for the pages, served from the one definition."""
    return Response(_IDENTIFIERS_JS, media_type=MEDIA_TYPES[".js"], headers=_REVALIDATE)


_IDENTIFIERS_JS = "\n".join(
    (
        "// Served by publisher_api from protocol/identifiers.py: edit the rule there.",
        f"export const ID_PATTERN = new RegExp({json.dumps(ID_PATTERN)});",
        f"export const ID_RULE = {json.dumps(ID_RULE)};",
        f"export const TICKET_ID_PATTERN = new RegExp({json.dumps(TICKET_ID_PATTERN)});",
        "",
    )
)
