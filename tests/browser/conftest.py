"""Browser tests: Debian chromium driven by Playwright against the real running system.

Playwright's own browser download does not work here, so every test launches
``/usr/bin/chromium`` and is skipped, with that reason, when it is not installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A wall display is configured to play sound without a click; so is the test browser.
    "--autoplay-policy=no-user-gesture-required",
]
# Pages connect with a short reconnect ceiling in tests so a restarted broker is found quickly.
FAST = "reconnect_max=2&poll=1"

TV = ViewportSize(width=1920, height=1080)
TV_720 = ViewportSize(width=1280, height=720)
PHONE = ViewportSize(width=390, height=844)
DESK = ViewportSize(width=1440, height=900)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module. Not per session: Playwright's sync API keeps its event loop set
    as running on the main thread until it stops, which breaks every asyncio test after it."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} (make system-deps)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def origin(url: str) -> str:
    """scheme://host:port of a URL, with ws/wss folded into http/https (same server)."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


# Runs before any page script, in every frame, whatever the page's CSP: each violation the
# browser reports to the document is passed to the test through a binding.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "(inline)";
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__qcCspViolation?.(`${event.effectiveDirective} blocked ${blocked} at ${where}`);
});
"""


@dataclass
class CspViolations:
    """Every Content-Security-Policy violation of the contexts a test opened: a page whose
    own policy blocks its own code (MQTT.js's timer worker) is broken, even when it looks fine."""

    found: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> BrowserContext:
        context.expose_function("__qcCspViolation", self._event)
        context.add_init_script(_CSP_LISTENER)
        context.on("console", self._console)
        return context

    def _event(self, text: str) -> None:
        self.found.append(f"event: {text}")

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium also logs the violations a document event misses (a worker's own fetches).
        if "Content Security Policy" in message.text:
            self.found.append(f"console: {message.text}")


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """``browser.new_context(**options)``, watched for CSP violations: the test fails at
    teardown if any page it opened violated its policy. Contexts are closed at teardown."""
    violations = CspViolations()
    contexts: list[BrowserContext] = []

    def opener(**options: Any) -> BrowserContext:
        context = violations.watch(browser.new_context(**options))
        contexts.append(context)
        return context

    yield opener
    for context in contexts:
        context.close()
    if violations.found:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations.found))


NewContext = Callable[..., BrowserContext]


@dataclass
class Watched:
    """A page plus everything it did that a test may want to check afterwards."""

    page: Page
    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def foreign(self, allowed: set[str]) -> list[str]:
        """Every request or WebSocket whose origin is not one of ``allowed``."""
        urls = self.requests + self.websockets
        # A blob: URL (MQTT.js's timer worker) belongs to the origin that follows "blob:".
        return [
            u
            for u in urls
            if not u.startswith("data:") and origin(u.removeprefix("blob:")) not in allowed
        ]


@pytest.fixture
def open_page(new_context: NewContext) -> Callable[..., Watched]:
    """Open a page in a fresh context (its own storage, like a separate device); any CSP
    violation fails the test (see ``new_context``)."""

    def opener(
        url: str,
        viewport: ViewportSize = DESK,
        locale: str = "pt-BR",
        *,
        inject: bool = False,
        **options: Any,
    ) -> Watched:
        """``inject``: let the test add its own scripts (our pages' CSP forbids inline ones);
        ``options``: more ``new_context`` options (``timezone_id``...)."""
        context = new_context(viewport=viewport, locale=locale, bypass_csp=inject, **options)
        page = context.new_page()
        watched = Watched(page)
        page.on("request", lambda request: watched.requests.append(request.url))
        page.on("websocket", lambda ws: watched.websockets.append(ws.url))
        page.on("pageerror", lambda error: watched.errors.append(str(error)))
        page.on("console", lambda message: _console(watched, message))
        page.goto(url)
        return watched

    return opener


def _console(watched: Watched, message: ConsoleMessage) -> None:
    watched.console.append(f"{message.type}: {message.text}")


OpenPage = Callable[..., Watched]

# Words of the API's English messages ("ticket X not found", "wrong username or password", "the
# counter is held by maria"...) that no pt-BR text of ours contains.
_ENGLISH = re.compile(
    r"\b(the|not found|wrong|password|ticket|counter|service|error|invalid|does not|cannot|"
    r"held by|busy|closed|paused|must|unknown|refused|internal|bad request|forbidden)\b",
    re.IGNORECASE,
)


def english_in(watched: Watched) -> list[str]:
    """English words of server messages in the page's visible text, title and notices."""
    text = watched.page.evaluate("() => document.title + '\\n' + document.body.innerText")
    return _ENGLISH.findall(text)


def wait_live(watched: Watched, timeout_ms: float = 20_000) -> None:
    """Until the page's connection badge says it is live on MQTT."""
    watched.page.wait_for_selector('#conn[data-state="live"]', timeout=timeout_ms)
