"""Agent tests run pygame headless: no window (dummy video); audio goes to a file per test
(SDL's disk driver writes the real mixed output), so a test can prove what was heard."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/agents/" in item.nodeid:
            item.add_marker(pytest.mark.agent)
