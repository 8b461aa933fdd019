"""The totem as a :class:`edge.runtime.Program`: state, view, renderer, touches and its own
effects (issue a ticket over HTTP with an Idempotency-Key, print it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from edge.api import ApiClient, ApiError
from edge.pg import pygame
from edge.runtime import Services
from edge.ui.fonts import Fonts
from mqtt_link.backoff import Backoff
from protocol.topics import queue_topic
from totem_agent import layout
from totem_agent.links import ticket_page_url
from totem_agent.printer import print_job
from totem_agent.render import render
from totem_agent.settings import TotemSettings
from totem_agent.state import (
    BackTapped,
    IssueFailed,
    IssueTicket,
    LearnPublicUrl,
    PrintTicket,
    PriorityTapped,
    PublicUrlLearned,
    ServiceTapped,
    TicketIssued,
    TotemConfig,
    TotemState,
    reduce,
)
from totem_agent.view import (
    CalledView,
    HomeView,
    MessageView,
    PriorityView,
    TicketView,
    TotemView,
    totem_view,
)

_DIGIT_KEYS = {getattr(pygame, f"K_{n}"): n for n in range(1, 10)} | {
    getattr(pygame, f"K_KP{n}"): n for n in range(1, 10)
}


def new_key() -> str:
    """An Idempotency-Key: one per customer intention (tap), reused by every retry of it."""
    return uuid.uuid4().hex


class TotemProgram:
    name = "totem"
    wake_s = 0.05  # touches are read at 20 Hz; network inputs wake the loop at once

    def __init__(self, settings: TotemSettings) -> None:
        self.settings = settings
        self.config = TotemConfig(
            ticket_screen=timedelta(seconds=settings.ticket_screen_s),
            called_screen=timedelta(seconds=settings.called_screen_s),
            error_screen=timedelta(seconds=settings.error_screen_s),
            # The kiosk waits a little longer than the worker keeps retrying.
            issue_timeout=timedelta(seconds=settings.issue_retry_s + 10),
            recent=timedelta(seconds=settings.recent_call_s),
            locale=settings.locale,
        )

    def initial_state(self) -> TotemState:
        return TotemState(config=self.config)

    def topics(self) -> Sequence[str]:
        return (queue_topic(self.settings.tenant),)

    def reduce(
        self, state: TotemState, event: object, now: datetime
    ) -> tuple[TotemState, Sequence[object]]:
        return reduce(state, event, now)

    def view(self, state: TotemState, now: datetime) -> TotemView:
        return totem_view(
            state,
            now,
            fallback_title=self.settings.tenant,
            api=self.settings.api,
            tenant=self.settings.tenant,
        )

    def render(self, surface: pygame.Surface, fonts: Fonts, view: TotemView) -> None:
        render(surface, fonts, view)

    def animate(
        self, surface: pygame.Surface, fonts: Fonts, view: TotemView, elapsed_s: float
    ) -> pygame.Rect | None:
        return None  # nothing on the kiosk moves between changes

    def user_input(self, event: Any, view: TotemView, size: tuple[int, int]) -> object | None:
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            return tap(view, size, event.pos)
        if event.type == pygame.KEYDOWN:
            return key(view, event.key)
        return None

    def perform(self, effect: object, services: Services) -> None:
        if isinstance(effect, IssueTicket):
            services.jobs.submit(
                issue_job(services.api, effect, retry_for_s=self.settings.issue_retry_s)
            )
        elif isinstance(effect, LearnPublicUrl):
            services.jobs.submit(public_url_job(services.api))
        elif isinstance(effect, PrintTicket):
            spec = self.settings.printer
            if spec is not None:
                # The tenant's public URL when the server published one, as on the screen.
                url = ticket_page_url(
                    effect.public_url, self.settings.api, self.settings.tenant, effect.ticket.id
                )
                services.jobs.submit(lambda: print_job(spec, effect, url=url))
        else:
            raise TypeError(f"the totem has no effect {effect!r}")


def tap(view: TotemView, size: tuple[int, int], pos: tuple[int, int]) -> object | None:
    """A touch at ``pos`` as an input, using the same rectangles the renderer drew."""
    body = view.body
    if isinstance(body, HomeView):
        _, _, buttons = layout.home_areas(size, len(body.buttons))
        for button, rect in zip(body.buttons, buttons, strict=True):
            if rect.collidepoint(pos):
                return ServiceTapped(button.prefix, new_key())
        return None
    if isinstance(body, PriorityView):
        _, _, normal, priority, back = layout.priority_areas(size)
        if normal.collidepoint(pos):
            return PriorityTapped(False, new_key())
        if priority.collidepoint(pos):
            return PriorityTapped(True, new_key())
        return BackTapped() if back.collidepoint(pos) else None
    if isinstance(body, TicketView | CalledView) or (isinstance(body, MessageView) and body.error):
        return BackTapped()  # anywhere: "touch the screen to finish"
    return None


def key(view: TotemView, pressed: int) -> object | None:
    """Keys 1-9 pick a service (home) or normal/priority (choice); Esc/Backspace go back;
    Enter/Space finish a ticket, call or error screen."""
    body = view.body
    digit = _DIGIT_KEYS.get(pressed)
    if isinstance(body, HomeView) and digit is not None and digit <= len(body.buttons):
        return ServiceTapped(body.buttons[digit - 1].prefix, new_key())
    if isinstance(body, PriorityView) and digit in (1, 2):
        return PriorityTapped(digit == 2, new_key())
    if pressed in (pygame.K_ESCAPE, pygame.K_BACKSPACE, pygame.K_RETURN, pygame.K_SPACE):
        return BackTapped()
    return None


def public_url_job(api: ApiClient) -> Callable[[], object]:
    def job() -> object:
        try:
            return PublicUrlLearned(api.public_url())
        except ApiError:
            return PublicUrlLearned(None)

    return job


def issue_job(
    api: ApiClient,
    effect: IssueTicket,
    *,
    retry_for_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[[], object]:
    """Request the ticket, retrying unreachable/5xx answers with the SAME Idempotency-Key until
    ``retry_for_s`` has passed: if the first request did create the ticket and only its answer
    was lost, the retry returns that same ticket instead of a second one."""

    def job() -> object:
        deadline = time.monotonic() + retry_for_s
        backoff = Backoff(initial_s=0.5, cap_s=4.0)
        while True:
            try:
                ticket = api.issue_ticket(
                    service=effect.service, priority=effect.priority, idempotency_key=effect.key
                )
            except ApiError as exc:
                delay = backoff.next_delay()
                if not exc.retryable or time.monotonic() + delay > deadline:
                    return IssueFailed(effect.key, exc.retryable, str(exc))
                sleep(delay)
                continue
            return TicketIssued(effect.key, ticket)

    return job
