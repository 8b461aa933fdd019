"""The tenant, device and ticket id rules are written once (protocol/identifiers.py): every route
parameter, the AsyncAPI document and the pages' script take them from there."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from protocol.asyncapi import asyncapi_document
from protocol.identifiers import ID_PATTERN, TICKET_ID_PATTERN
from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "tenant": ID_PATTERN,
    "device_id": ID_PATTERN,
    "ticket_id": TICKET_ID_PATTERN,
    "deviceId": ID_PATTERN,
}


def test_every_id_parameter_of_the_http_api_has_the_one_pattern(api: Api) -> None:
    document = api.http.get("/openapi.json").json()
    checked = 0
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in EXPECTED:
                    assert parameter["schema"].get("pattern") == EXPECTED[parameter["name"]], path
                    checked += 1
    assert checked > 50  # tenant on nearly every route; tickets and devices on theirs


def test_the_asyncapi_document_has_the_one_pattern() -> None:
    parameters: list[tuple[str, dict[str, Any]]] = [
        (name, spec)
        for channel in asyncapi_document()["channels"].values()
        for name, spec in channel.get("parameters", {}).items()
    ]
    assert {name for name, _ in parameters} >= {"tenant", "deviceId"}
    for name, spec in parameters:
        if name in EXPECTED:
            assert spec["schema"]["pattern"] == EXPECTED[name], name


def test_the_pages_get_the_pattern_from_the_server(api: Api) -> None:
    r = api.http.get("/web/js/identifiers.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert f"export const ID_PATTERN = new RegExp({json.dumps(ID_PATTERN)});" in r.text
    assert f"new RegExp({json.dumps(TICKET_ID_PATTERN)})" in r.text


def test_no_other_file_writes_the_patterns_by_hand() -> None:
    # The distinctive part of each rule, as it would be copied into Python or JavaScript.
    copies = re.compile(r"\[a-z0-9_-\]\{0,62\}|\[A-Za-z0-9_-\]\{1,64\}")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("protocol", "publisher_api", "broker", "edge", "config", "credentials")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".js", ".html") and copies.search(path.read_text("utf-8"))
    ]
    assert found == ["protocol/identifiers.py"]
