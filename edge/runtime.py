"""The main-loop skeleton both agents run, and the wiring of their background threads.

The main thread owns pygame. It blocks on a ``queue.Queue`` (the inbox) that the MQTT link, the
HTTP poller and background jobs feed — pygame's own event queue drops events when full, ours
does not — and wakes at least every ``wake_s`` to read touches and keys. Each input goes
through the agent's pure reducer; effects are performed at once (sound first, so the chime is
not delayed by drawing); then the view is recomputed and the screen redrawn only if the view
changed. Views hold the clock to the minute, so an idle agent draws once a minute.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import FrameType, TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from edge import branding
from edge.api import ApiClient, ApiError, MqttEndpoint
from edge.clock import ServerClock
from edge.credential import DeviceCredential
from edge.inputs import Announce, Follow, LinkDown, LinkUp, SnapshotReceived, Tick, Unfollow
from edge.jobs import Jobs
from edge.link import MqttLink
from edge.pg import pygame
from edge.player import AnnouncementPlayer
from edge.poller import Poller
from edge.settings import AgentSettings
from edge.speech import Speech
from edge.trace import Trace
from edge.ui.fonts import Fonts
from mqtt_link.backoff import Backoff
from protocol import Principal
from protocol.topics import ticket_topic

log = logging.getLogger(__name__)

S = TypeVar("S")
V = TypeVar("V")
_MAX_INPUTS_PER_WAKE = 200  # a flood of messages must not starve touches and drawing
_RENEWAL_CHECK_S = 3600.0  # renewal is due a month ahead: hourly looks are plenty
_FRAME_S = 1 / 30  # while something moves: smooth enough to read, a strip redrawn, not a screen


@dataclass(frozen=True, slots=True)
class Services:
    """What an agent's own effects may use."""

    settings: AgentSettings
    jobs: Jobs
    api: ApiClient  # for jobs only: they run one at a time on the job thread


class Program(Protocol[S, V]):
    """One agent: pure reducer and view, a renderer, and its own inputs and effects."""

    name: str
    wake_s: float

    def initial_state(self) -> S: ...

    def topics(self) -> Sequence[str]: ...

    def reduce(self, state: S, event: object, now: datetime) -> tuple[S, Sequence[object]]: ...

    def view(self, state: S, now: datetime) -> V:
        """What to draw. Depends on ``now`` only through the minute shown by the clock: the
        runtime recomputes it only when the state object or that minute changed."""

    def render(self, surface: pygame.Surface, fonts: Fonts, view: V) -> None: ...

    def animate(
        self, surface: pygame.Surface, fonts: Fonts, view: V, elapsed_s: float
    ) -> pygame.Rect | None:
        """Redraw only what moves on the screen ``render`` drew (a scrolling ticker), as it is
        ``elapsed_s`` after the agent started; the area drawn, or ``None`` when nothing moves:
        the loop then sleeps until an input or the next minute, as an idle agent must."""

    def user_input(self, event: Any, view: V, size: tuple[int, int]) -> object | None:
        """A pygame event (touch, key) as an input of this agent, or ``None``."""

    def perform(self, effect: object, services: Services) -> None:
        """Carry out an effect the runtime does not know (issue a ticket, print)."""


class AgentRuntime(Generic[S, V]):
    def __init__(
        self,
        program: Program[S, V],
        settings: AgentSettings,
        *,
        identity: Principal | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.program = program
        self.settings = settings
        self.identity = identity or settings.identity()
        # Reducers see the server's clock (calls are stamped by it), learnt from every answer
        # of the API; a test may pass its own clock instead.
        self.server_clock = ServerClock()
        self._clock = clock or self.server_clock.now
        self._inbox: queue.Queue[object] = queue.Queue()
        self._stopping = threading.Event()
        self._trace = Trace(settings.trace_file)
        self.state: S = program.initial_state()
        self.view: V | None = None
        self.frames = 0
        self.moving_frames = 0
        self._moving = False
        self._next_frame = 0.0
        self._origin = time.monotonic()
        self._viewed: tuple[object, int] = (None, -1)
        self.surface: pygame.Surface | None = None
        self.fonts: Fonts | None = None
        self._followed: set[str] = set()
        self._next_tick = 0.0
        self._endpoint_api: ApiClient | None = None
        self.credential = DeviceCredential(settings.token(), file=settings.device_token_file)
        self._next_renewal_check = 0.0
        self.jobs = Jobs(self.post)
        self.player = AnnouncementPlayer(
            speech=Speech() if settings.speech else None,
            on_start=lambda call_id: self._trace("sound", call_id=call_id),
        )
        self.link = MqttLink(
            tenant=settings.tenant,
            device_id=self.identity.subject,
            role=self.identity.role.value,
            credential=self.credential,
            endpoint=self._mqtt_endpoint(),
            topics=program.topics(),
            post=self.post,
            backoff=Backoff(initial_s=settings.reconnect_min_s, cap_s=settings.reconnect_max_s),
        )
        self.poller = Poller(
            api=self.make_api(),
            interval_s=settings.poll_interval_s,
            followed=lambda: tuple(self._followed),
            post=self.post,
        )
        self.services = Services(settings=settings, jobs=self.jobs, api=self.make_api())
        branding.configure(branding.http_fetch(settings.api))  # the tenant's logo, on screen

    def make_api(self) -> ApiClient:
        return ApiClient(
            self.settings.api,
            tenant=self.settings.tenant,
            credential=self.credential,
            clock=self.server_clock,
        )

    def _mqtt_endpoint(self) -> Callable[[], MqttEndpoint]:
        configured = self.settings.mqtt_url
        if configured is not None:
            endpoint = MqttEndpoint.from_url(configured)
            return lambda: endpoint
        api = self._endpoint_api = self.make_api()  # used by the link thread only
        return api.mqtt_endpoint

    # --- life cycle ------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        pygame.display.init()
        if self.settings.fullscreen:
            self.surface = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            self.surface = pygame.display.set_mode((self.settings.width, self.settings.height))
        pygame.display.set_caption(f"QueueCast {self.program.name} — {self.settings.tenant}")
        # Only the events we handle: everything else would only wake the loop for nothing.
        pygame.event.set_allowed(None)
        pygame.event.set_allowed([pygame.QUIT, pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN])
        self.fonts = Fonts(self.settings.font)
        if self.settings.sound:
            self.player.open()
        self.link.start()
        self.poller.start()
        self._redraw()
        log.info(
            "%s agent %s of tenant %s started",
            self.program.name,
            self.identity.subject,
            self.settings.tenant,
        )

    def close(self) -> None:
        self.poller.stop()  # first: the link going down must not start a last poll
        self.link.stop()
        self.jobs.shutdown()
        self.services.api.close()
        if self._endpoint_api is not None:
            self._endpoint_api.close()
        self.player.close()
        self._trace.close()
        pygame.display.quit()

    def stop(self) -> None:
        """Ask the loop to finish (thread- and signal-safe)."""
        self._stopping.set()
        self._inbox.put(None)

    def post(self, item: object) -> None:
        """Hand an input to the main loop; callable from any thread."""
        if isinstance(item, LinkUp | LinkDown):
            self.poller.link_changed(isinstance(item, LinkUp))
        if isinstance(item, SnapshotReceived):
            self._trace("snapshot", seq=item.snapshot.seq, live=item.live)
        self._inbox.put(item)

    # --- the loop ------------------------------------------------------------------------------
    def run(self, until: Callable[[], bool] | None = None, timeout_s: float | None = None) -> None:
        """Run until stopped, or until ``until()`` holds (tests); ``TimeoutError`` if
        ``timeout_s`` passes first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stopping.is_set():
            if until is not None and until():
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"condition not reached within {timeout_s}s")
            self.step()

    def step(self) -> None:
        """One wake-up of the main loop."""
        self._drain_inbox()
        assert self.surface is not None, "start() first"
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.stop()
                continue
            if self.view is not None:
                item = self.program.user_input(event, self.view, self.surface.get_size())
                if item is not None:
                    self.handle(item)
        if time.monotonic() >= self._next_tick:
            self._next_tick = time.monotonic() + 1.0
            self.handle(Tick())
            if time.monotonic() >= self._next_renewal_check:
                self._next_renewal_check = time.monotonic() + _RENEWAL_CHECK_S
                self.jobs.submit(self._renew_token_if_due)
        self.player.pump()
        self._redraw()
        if self._moving and time.monotonic() >= self._next_frame:
            self._animate(flip=True)
        self.player.pump()  # synthesises queued speech after the frame, never before it

    def _renew_token_if_due(self) -> None:
        """On the job thread: renew the device token a month before it expires. A failure is
        retried at the next hourly check; the current token keeps working until then."""
        if not self.credential.due(self._clock()):
            return
        try:
            self.credential.replace(self.services.api.renewed_token())
        except (ApiError, ValueError, OSError) as exc:
            log.warning("device token: renewal failed, will retry: %s", exc)
            return
        expires = self.credential.identity.expires_at.date().isoformat()
        if self.credential.file is None:
            log.warning(
                "device token renewed until %s, in memory only: give it with --device-token-file "
                "so the renewed token survives a restart",
                expires,
            )
        else:
            log.info("device token renewed until %s (saved in %s)", expires, self.credential.file)

    def _drain_inbox(self) -> None:
        wake = min(self.program.wake_s, self._next_tick - time.monotonic())
        if self._moving:
            wake = min(wake, self._next_frame - time.monotonic())
        timeout = max(0.0, wake)
        try:
            item = self._inbox.get(timeout=timeout)
            for _ in range(_MAX_INPUTS_PER_WAKE):
                if item is not None:
                    self.handle(item)
                item = self._inbox.get_nowait()
        except queue.Empty:
            pass

    def handle(self, item: object) -> None:
        """Reduce one input and perform its effects."""
        self.state, effects = self.program.reduce(self.state, item, self._clock())
        for effect in effects:
            self._perform(effect)

    def _perform(self, effect: object) -> None:
        match effect:
            case Announce():
                self.player.enqueue(effect)
            case Follow(ticket_id=ticket_id):
                self._followed.add(ticket_id)
                self.link.follow(ticket_topic(self.settings.tenant, ticket_id))
            case Unfollow(ticket_id=ticket_id):
                self._followed.discard(ticket_id)
                self.link.unfollow(ticket_topic(self.settings.tenant, ticket_id))
            case _:
                self.program.perform(effect, self.services)

    def _redraw(self) -> None:
        now = self._clock()
        # Reducers return the very same state object when nothing changed; together with the
        # minute that is all a view depends on, so an idle wake-up costs no view at all.
        minute = int(now.timestamp() // 60)
        if self.state is self._viewed[0] and minute == self._viewed[1]:
            return
        self._viewed = (self.state, minute)  # holding the state keeps identity meaningful
        view = self.program.view(self.state, now)
        if view == self.view or self.surface is None or self.fonts is None:
            return
        self.view = view
        self.program.render(self.surface, self.fonts, view)
        self._animate(flip=False)  # what moves is drawn where it is now, before it is shown
        pygame.display.flip()
        self.frames += 1
        self._trace("frame", n=self.frames)

    def _animate(self, *, flip: bool) -> None:
        if self.view is None or self.surface is None or self.fonts is None:
            return
        elapsed = time.monotonic() - self._origin
        area = self.program.animate(self.surface, self.fonts, self.view, elapsed)
        self._moving = area is not None
        self._next_frame = time.monotonic() + _FRAME_S
        if area is not None and flip:
            pygame.display.update(area)
            self.moving_frames += 1

    @property
    def followed(self) -> Collection[str]:
        return frozenset(self._followed)


def run_agent(program: Program[S, V], settings: AgentSettings) -> int:
    """The body of ``python -m <agent>``: log, run until SIGTERM/SIGINT or window close."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        runtime = AgentRuntime(program, settings)
    except (ValueError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return 2

    def on_signal(signum: int, frame: FrameType | None) -> None:
        runtime.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with runtime:
        runtime.run()
    return 0
