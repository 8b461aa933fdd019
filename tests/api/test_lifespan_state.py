"""The running app holds one lifespan state object (``app.state.runtime``) owning every service,
the realtime side included; it exists only while the lifespan runs."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from publisher_api.deps import realtime_of, running
from tests.api.conftest import api_settings, serve


def test_one_state_object_owns_every_service_for_the_lifespan_only(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, metrics_public=True)
    server = serve(settings)
    app = server.server.config.app
    assert isinstance(app, FastAPI)
    try:
        runtime = running(app)
        assert runtime is not None
        realtime = realtime_of(app)
        assert realtime is runtime.realtime
        assert realtime.broker is not None
        assert realtime.broker.running
        assert not hasattr(app.state, "realtime")  # reached through the runtime only
        with httpx.Client(base_url=server.base_url) as http:
            # The queue-length collector reads the running app's database at scrape time.
            text = http.get("/metrics").text
            assert 'queuecast_queue_length{tenant="default"} 0.0' in text
            assert http.get("/readyz").json() == {
                "status": "ready",
                "database": "ok",
                "mqtt": "serving",
            }
    finally:
        server.stop()
    assert running(app) is None
    assert realtime_of(app) is None
