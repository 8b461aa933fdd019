"""The display as a :class:`edge.runtime.Program`: wires state, view and renderer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from display_agent.render import animate, render
from display_agent.settings import DisplaySettings
from display_agent.state import DisplayConfig, DisplayState, reduce
from display_agent.view import DisplayView, display_view
from edge.pg import pygame
from edge.runtime import Services
from edge.ui.fonts import Fonts
from protocol.topics import queue_topic


class DisplayProgram:
    name = "display"
    wake_s = 0.25  # only keys to read; calls wake the loop at once through the inbox

    def __init__(self, settings: DisplaySettings) -> None:
        self.settings = settings
        self.config = DisplayConfig(
            services=frozenset(settings.services) if settings.services else None,
            counters=frozenset(settings.counters) if settings.counters else None,
            history=settings.history,
            highlight=timedelta(seconds=settings.highlight_s),
            recent=timedelta(seconds=settings.recent_call_s),
            locale=settings.locale,
        )

    def initial_state(self) -> DisplayState:
        return DisplayState(config=self.config)

    def topics(self) -> Sequence[str]:
        return (queue_topic(self.settings.tenant),)

    def reduce(
        self, state: DisplayState, event: object, now: datetime
    ) -> tuple[DisplayState, Sequence[object]]:
        return reduce(state, event, now)

    def view(self, state: DisplayState, now: datetime) -> DisplayView:
        return display_view(state, now, fallback_title=self.settings.tenant)

    def render(self, surface: pygame.Surface, fonts: Fonts, view: DisplayView) -> None:
        render(surface, fonts, view)

    def animate(
        self, surface: pygame.Surface, fonts: Fonts, view: DisplayView, elapsed_s: float
    ) -> pygame.Rect | None:
        return animate(surface, fonts, view, elapsed_s)

    def user_input(self, event: Any, view: DisplayView, size: tuple[int, int]) -> object | None:
        return None  # a public display takes no input; the window's close button still quits

    def perform(self, effect: object, services: Services) -> None:
        raise TypeError(f"the display has no effect {effect!r}")
