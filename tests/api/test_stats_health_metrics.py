"""Stats (JSON and CSV), health and readiness, Prometheus metrics."""

from __future__ import annotations

import csv
import io
import re

from tests.api.conftest import TENANT, Api

BASE = f"/api/v1/tenants/{TENANT}"


def test_stats_count_per_service_counter_and_day(api: Api) -> None:
    served = api.issue("A")
    api.act(served["id"], "call", counter=2)
    api.act(served["id"], "start")
    api.act(served["id"], "complete")
    missed = api.issue("P", priority=True)
    api.act(missed["id"], "call", counter=1)
    api.act(missed["id"], "no-show")
    r = api.http.get(f"{BASE}/stats", headers=api.auth("admin"))
    assert r.status_code == 200
    stats = r.json()
    assert {
        "tenant", "from", "to", "total", "by_service", "by_counter", "by_day", "by_hour",
        "attendants",
    } == set(stats)  # fmt: skip
    assert stats["total"]["issued"] >= 2
    assert stats["total"]["completed"] >= 1
    assert stats["total"]["no_show"] >= 1
    by_service = {s["key"]: s for s in stats["by_service"]}
    assert by_service["A"]["completed"] >= 1
    assert by_service["P"]["no_show"] >= 1
    assert by_service["A"]["mean_service_s"] is not None
    assert {c["key"] for c in stats["by_counter"]} >= {"1", "2"}
    assert len(stats["by_day"]) >= 1
    operator = next(a for a in stats["attendants"] if a["username"] == "operator")
    assert (operator["called"], operator["completed"], operator["no_show"]) >= (2, 1, 1)


def test_stats_as_csv(api: Api) -> None:
    r = api.http.get(f"{BASE}/stats", params={"format": "csv"}, headers=api.auth("admin"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["group"] == "total"
    assert {"issued", "p90_wait_s", "mean_service_s", "pause_s"} <= set(rows[0])
    assert "operator" in {row["key"] for row in rows if row["group"] == "attendant"}


def test_stats_refuse_a_backwards_range(api: Api) -> None:
    r = api.http.get(
        f"{BASE}/stats",
        params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=api.auth("admin"),
    )
    assert r.status_code == 422
    assert "before" in r.json()["message"]


def test_health_and_readiness(api: Api) -> None:
    assert api.http.get("/healthz").json() == {"status": "ok"}
    assert api.http.get("/readyz").json() == {
        "status": "ready",
        "database": "ok",
        "mqtt": "serving",  # the embedded broker
    }


def test_metrics_show_tickets_queue_waits_and_http(api: Api) -> None:
    ticket = api.issue("A")
    api.act(ticket["id"], "call", counter=1)
    text = api.http.get("/metrics").text
    assert 'queuecast_tickets_issued_total{tenant="default"}' in text
    assert 'queuecast_tickets_called_total{tenant="default"}' in text
    assert 'queuecast_queue_length{tenant="default"}' in text
    assert "queuecast_wait_time_seconds_bucket" in text
    assert 'route="/api/v1/tenants/{tenant}/tickets"' in text  # templates, never raw ids
    assert ticket["id"] not in text
    assert 'queuecast_mqtt_up{mode="embedded"} 1.0' in text
    assert 'queuecast_mqtt_messages_received_total{qos="1"}' in text  # the API's own publishes


def test_openapi_and_docs_are_served(api: Api) -> None:
    assert api.http.get("/docs").status_code == 200
    spec = api.http.get("/openapi.json").json()
    assert "/api/v1/tenants/{tenant}/queue" in spec["paths"]


def test_docs_load_nothing_from_another_host(api: Api) -> None:
    page = api.http.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text
    assert not [u for u in urls if "//" in u], urls  # no scheme, no host: our own origin
    assert "cdn" not in page.text.lower()
    for url in urls:
        if url.startswith("/docs/"):
            assert api.http.get(url).status_code == 200, url
    assert (
        api.http.get("/docs/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert api.http.get("/docs/package.json").status_code == 404  # only Swagger UI's own files
