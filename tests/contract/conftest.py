"""The contract tests run the pages' JavaScript in node (installed with npm, a prerequisite of
the repository) next to the Python the agents run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def run_js() -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the pages' JavaScript (see README, prerequisites)")

    def run(*args: str) -> Any:
        done = subprocess.run(
            [node, str(HERE / "run_js.mjs"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run
