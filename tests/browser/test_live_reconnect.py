"""The pages' reconnect schedule (live.js): every page of a site loses the broker at the same
moment, so the first attempt after a loss is already spread over ``reconnectSpreadMs``; later
failures back off exponentially. The delays are read from the timers the page sets (Math.random
pinned), so nothing here waits for them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support.system import RunningSystem, start_system

pytestmark = pytest.mark.browser

SCHEDULE = """
  const { LiveConnection } = await import("/web/js/live.js");
  const live = new LiveConnection({
    credentials: async () => { throw new Error("not used"); },
    topics: [], poll: async () => [], onDocument: () => {},
    pollIntervalMs: 600000, reconnectMinMs: 1000, reconnectMaxMs: arg.maxMs,
  });
  const realRandom = Math.random, realSetTimeout = window.setTimeout;
  const delays = [];
  Math.random = () => arg.random;
  window.setTimeout = (fn, ms) => {
    if (ms > 0) delays.push(ms);  // the polling fallback's first tick is 0 ms
    return realSetTimeout(() => {}, 0);
  };
  try {
    for (let i = 0; i < 4; i += 1) live.lost();
  } finally {
    Math.random = realRandom;
    window.setTimeout = realSetTimeout;
    live.stop();
  }
  return delays;
"""


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("reconnect")) as running:
        yield running


@pytest.fixture
def page(browser: Browser, system: RunningSystem) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{system.base_url}/t/{system.tenant}/display")
    yield page
    context.close()


def schedule(page: Page, *, random: float, max_ms: int = 30000) -> list[float]:
    return list(
        page.evaluate(f"async (arg) => {{ {SCHEDULE} }}", {"random": random, "maxMs": max_ms})
    )


def test_the_first_reconnect_is_spread_over_five_seconds_then_backs_off(page: Page) -> None:
    assert schedule(page, random=1.0) == [5000, 1000, 2000, 4000]
    assert schedule(page, random=0.5) == [2500, 750, 1500, 3000]


def test_the_spread_never_exceeds_the_reconnect_ceiling(page: Page) -> None:
    assert schedule(page, random=1.0, max_ms=2000) == [2000, 1000, 2000, 2000]
