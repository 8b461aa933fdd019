"""Schemathesis fuzzes every operation in ``/openapi.json`` against the running API (real HTTP):
nothing a client sends may produce a 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Api, api_settings, serve

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture
def fresh_api(tmp_path: Path) -> Iterator[Api]:
    """Its own server: the fuzzer deletes and rewrites things other tests rely on."""
    settings = api_settings(tmp_path)
    running = serve(settings)
    with httpx.Client(base_url=running.base_url, timeout=20) as http:
        yield Api(settings, http)
    running.stop()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("user", ["root", "operator"])
def test_no_input_makes_the_api_fail(fresh_api: Api, user: str, output_dir: Path) -> None:
    base = str(fresh_api.http.base_url).rstrip("/")
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization: Bearer {fresh_api.login(user)}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "15",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-database",
            "none",
            "--seed",
            "20261129",
            # One worker: hypothesis parses lambda sources with ast, which is not thread-safe on
            # CPython 3.11 ("AST constructor recursion depth mismatch") under several workers.
            "--workers",
            "1",
            "--no-color",
            "--request-timeout",
            "20",
            "--report",
            "junit",
            "--report-dir",
            str(output_dir),
        ],
        capture_output=True,
        text=True,
        cwd=output_dir,  # schemathesis keeps a state folder in its working directory
        timeout=540,
        check=False,
    )
    (output_dir / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert generated is not None, result.stdout[-2000:]
    assert generated.group(1) == generated.group(2)
    assert int(generated.group(1)) > 500  # it really fuzzed every operation
