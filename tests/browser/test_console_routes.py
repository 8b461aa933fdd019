"""Routes of the admin consoles over real HTTP: /admin (no tenant), Chart.js from node_modules,
and an unknown tenant's console is a 404 like every page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from publisher_api.routers.assets import CHART_JS, CHART_JS_URL
from tests.browser.test_pages_router import page_config
from tests.support.system import RunningSystem, start_system


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with start_system(tmp_path_factory.mktemp("console-routes")) as running:
        yield running


def test_superadmin_page_has_no_tenant_and_a_strict_policy(system: RunningSystem) -> None:
    response = system.http.get("/admin")
    assert response.status_code == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert page_config(response.text)["page"] == "superadmin"
    assert page_config(response.text)["tenant"] == ""


def test_admin_page_knows_the_presence_topics(system: RunningSystem) -> None:
    config = page_config(system.http.get("/t/default/admin").text)
    assert config["topics"]["devices"] == "tenant/default/devices/+/status"
    assert system.http.get("/t/nope/admin").status_code == 404


def test_chart_js_comes_from_node_modules(system: RunningSystem) -> None:
    if not CHART_JS.is_file():
        pytest.skip("chart.js is not installed (npm ci)")
    response = system.http.get(CHART_JS_URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == CHART_JS.read_bytes()
    again = system.http.get(CHART_JS_URL, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
