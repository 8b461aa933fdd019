"""Fixtures every suite may use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

OUTPUT_ROOT = Path(__file__).resolve().parent.parent / "test-output"


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """A folder kept after the run (gitignored) for screenshots, rendered frames, audio files."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    path = OUTPUT_ROOT / name
    path.mkdir(parents=True, exist_ok=True)
    return path
