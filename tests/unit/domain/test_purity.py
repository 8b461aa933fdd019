"""The ticket state machine, queue ordering, numbering and estimates are pure: importing them
loads no web framework, database layer, MQTT client or graphics library. A fresh interpreter
checks it, since this test process has long imported all of those."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import publisher_api.domain

FRAMEWORKS = {"fastapi", "starlette", "sqlalchemy", "alembic", "paho", "amqtt", "pygame", "httpx"}


def test_the_domain_imports_no_framework() -> None:
    package = Path(publisher_api.domain.__file__).parent
    modules = sorted(f"publisher_api.domain.{p.stem}" for p in package.glob("[!_]*.py"))
    assert {"publisher_api.domain.lifecycle", "publisher_api.domain.ordering"} <= set(modules)
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert loaded & FRAMEWORKS == set()
