"""The one place pygame is imported, so its start-up banner is silenced before the import."""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

__all__ = ["pygame"]
