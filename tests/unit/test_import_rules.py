"""The layers of docs/architecture.md, checked: a module may import its own layer or layers below
it, never one above and never a peer package of the same rank. Read the rule table top to bottom
and you have the architecture.

``KNOWN`` lists the imports that break the rule today, each waiting for its fix; the test fails
when a new forbidden import appears and also when a listed one is gone (so the list only shrinks).
``tests`` and ``bench`` may import anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. Each entry: a package (or a publisher_api subpackage/module) and its rank.
RANKS: dict[str, int] = {
    "protocol": 0,  # the contract: pydantic and PyJWT only
    "config": 10,  # settings for every process
    "credentials": 25,  # is a token still honoured: read by the API and the standalone broker
    "mqtt_link": 25,  # the one resilient paho client, for the agents and the API's publisher
    "publisher_api.domain": 20,  # the pure core: ticket lifecycle, ordering, numbering
    "broker": 30,  # the embedded broker, runnable alone
    "edge": 30,  # what both agents share
    "totem_agent": 40,
    "display_agent": 40,
    # The API, from its seams up to its entry point.
    "publisher_api.changes": 50,  # seam types between the writer and the publisher
    "publisher_api.auth": 50,
    "publisher_api.metrics": 50,
    "publisher_api.schemas": 50,
    "publisher_api.errors": 50,
    "publisher_api.site_errors": 55,  # the admin console's refusals, built on errors
    "publisher_api.site_schemas": 55,  # the admin console's request bodies
    "publisher_api.store": 60,
    "publisher_api.services": 70,
    "publisher_api.bootstrap": 75,  # start-up data: the dev tenant, seeding through the services
    "publisher_api.publishing": 80,
    "publisher_api.dynsec": 85,  # an external broker's accounts kept in step with our grants
    "publisher_api.realtime": 90,
    "publisher_api.http_errors": 92,  # refusals as JSON responses; the exception handlers
    "publisher_api.login_guard": 95,  # password checks off the loop, login limits
    "publisher_api.runtime": 100,
    "publisher_api.lifespan_state": 105,  # where the runtime lives in a running app
    "publisher_api.deps": 110,
    "publisher_api.security_headers": 115,  # ASGI middleware: CSP and friends (and /docs' CSP)
    "publisher_api.routers": 120,
    "publisher_api.limits": 125,  # ASGI middlewares: body and header limits
    "publisher_api.issue_limit": 125,  # ASGI middleware: tickets per device
    "publisher_api.login_gate": 125,  # ASGI middleware: sign-ins the login limits refuse
    "publisher_api.http_latency": 125,  # ASGI middleware: HTTP latency into the metrics
    "publisher_api.app": 130,
    "publisher_api.server": 135,  # uvicorn configured: TLS, timeouts, connection cap
    "publisher_api.__main__": 140,
    "publisher_api": 140,  # the package itself
}
FREE = ("tests", "bench")
WEB_FRAMEWORK = ("fastapi", "starlette")
FRAMEWORK_FREE = {
    "protocol",
    "config",
    "credentials",
    "mqtt_link",
    "publisher_api.domain",
    "edge",
    "totem_agent",
    "display_agent",
    "publisher_api.changes",
    "publisher_api.auth",
    "publisher_api.schemas",
    "publisher_api.errors",
    "publisher_api.metrics",
    "publisher_api.store",
    "publisher_api.services",
    "publisher_api.bootstrap",
}
"""Layers that must not import the web framework: use cases, storage and their seams raise plain
refusals, and the web layer maps them to HTTP (the broker's WebSocket adapter is Starlette's by
design, so the broker is not in this set)."""

MQTT_CLIENT = "paho"
MQTT_CLIENT_OWNER = "mqtt_link"
"""Only the shared resilient client talks paho: connecting, reconnecting, TLS, Will and login
are written once there, for the agents, the API's external-broker connection and the dynsec
control alike."""

# (importing module, layer it reaches) for each import that breaks the rule, and its fix. Empty
# since issue 16 straightened the last ones; an entry here is a debt with a named fix.
KNOWN: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> str | None:
    """The most specific entry of RANKS that ``module`` belongs to."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in RANKS:
            return candidate
    return None


def imports_of(path: Path, module: str) -> Iterator[str]:
    """Absolute module names imported by one file (relative imports resolved)."""
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            # ``from publisher_api import schemas`` imports publisher_api.schemas: name each
            # imported thing, and layer_of finds the layer it lives in.
            yield from (f"{source}.{alias.name}" for alias in node.names)


def violations(root: Path) -> dict[tuple[str, str], str]:
    """Every forbidden import under ``root`` as (importing module, layer it reaches), with why."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in FREE or not relative.parts[0].isidentifier():
            continue
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        importer = layer_of(module)
        if importer is None:
            continue
        for imported in imports_of(path, module):
            if imported.split(".")[0] in WEB_FRAMEWORK and importer in FRAMEWORK_FREE:
                found[(module, imported.split(".")[0])] = f"{importer} must not need the web"
            if imported.split(".")[0] == MQTT_CLIENT and importer != MQTT_CLIENT_OWNER:
                found[(module, MQTT_CLIENT)] = f"{importer} must reach MQTT through mqtt_link"
            target = layer_of(imported)
            if target is None or target == importer:
                continue
            if RANKS[target] > RANKS[importer]:
                found[(module, target)] = f"{importer} may not import {target}, a higher layer"
            elif RANKS[target] == RANKS[importer]:
                found[(module, target)] = f"{importer} may not import its peer {target}"
    return found


def test_no_layer_imports_a_higher_one_or_a_peer() -> None:
    found = violations(ROOT)
    new = {pair: why for pair, why in found.items() if pair not in KNOWN}
    assert not new, "forbidden imports (docs/architecture.md):\n" + "\n".join(
        f"  {a} -> {b}: {why}" for (a, b), why in sorted(new.items())
    )
    gone = set(KNOWN) - set(found)
    assert not gone, f"fixed, so take them out of KNOWN: {sorted(gone)}"


def test_every_top_level_package_has_a_rank() -> None:
    packages = {
        p.parent.name
        for p in ROOT.glob("*/__init__.py")
        if p.parent.name not in FREE and p.parent.name.isidentifier()
    }
    assert packages <= {name.split(".")[0] for name in RANKS}, packages


def test_the_checker_catches_an_upward_and_a_peer_import(tmp_path: Path) -> None:
    for package, source in {
        "protocol": "from publisher_api.domain import lifecycle\n",  # upward
        "edge": "import broker.core\n",  # peer
        "publisher_api/domain": "from protocol import Ticket\n",  # fine
        "publisher_api/routers": "from ..services import tickets\n",  # fine, relative
        "publisher_api/store": "from ..routers import tickets\n",  # upward, relative
        "publisher_api/services": "from fastapi import HTTPException\n",  # web framework
        "publisher_api/dynsec": "import paho.mqtt.client as mqtt\n",  # paho outside mqtt_link
        "mqtt_link": "from paho.mqtt.enums import CallbackAPIVersion\n",  # fine: its owner
    }.items():
        folder = tmp_path / package
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "mod.py").write_text(source)
    assert set(violations(tmp_path)) == {
        ("protocol.mod", "publisher_api.domain"),
        ("edge.mod", "broker"),
        ("publisher_api.store.mod", "publisher_api.routers"),
        ("publisher_api.services.mod", "fastapi"),
        ("publisher_api.dynsec.mod", "paho"),
    }
