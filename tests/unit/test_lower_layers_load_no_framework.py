"""The import rules read the source; this checks what actually loads. The use cases, the start-up
data and the revocation reads run without the web framework, paho or amqtt in the process (before
issue 16, importing the ticket service loaded FastAPI, Starlette and paho)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("fastapi", "starlette", "paho", "amqtt", "uvicorn", "pygame")


@pytest.mark.parametrize(
    "module",
    [
        "publisher_api.services.tickets",
        "publisher_api.services.admin",
        "publisher_api.bootstrap.seed",
        "publisher_api.errors",
        "publisher_api.metrics",
        "credentials",
        "mqtt_link.backoff",  # pure: the package's __init__ must not pull the client (paho) in
    ],
)
def test_importing_loads_no_framework(module: str) -> None:
    # A fresh interpreter: this test process has loaded everything already.
    script = (
        f"import sys, {module}\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", f"{module} loads {out.strip()}"
