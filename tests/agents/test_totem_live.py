"""The real totem agent, headless, against the real API and a separate broker process:
touches in, tickets out (HTTP, Idempotency-Key), calls heard (disk audio), outages survived."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.settings import DEV_SECRET
from edge.feed import Connection
from edge.pg import pygame
from edge.runtime import AgentRuntime
from protocol import Role, encode, issue_token
from protocol.topics import queue_topic, ticket_topic
from tests.agents import audio
from tests.agents.factories import snapshot
from tests.agents.running import totem, view_of
from tests.agents.system_fixtures import Operator, device, system
from tests.support.desk import name_counter
from tests.support.mqtt import Recorder
from tests.support.ports import free_port
from tests.support.system import RunningSystem, start_system
from totem_agent import layout
from totem_agent.state import ShowingCall, ShowingError, ShowingTicket
from totem_agent.view import CalledView, HomeView, TicketView

__all__ = ["system"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _ready(runtime: AgentRuntime[Any, Any]) -> None:
    runtime.run(
        until=lambda: runtime.state.feed.link_up and runtime.state.feed.snapshot is not None,
        timeout_s=20,
    )


def _tap_service(runtime: AgentRuntime[Any, Any], prefix: str, times: int = 1) -> None:
    """Touch the service's button where the renderer drew it (as SDL reports a touch)."""
    body = view_of(runtime).body
    assert isinstance(body, HomeView)
    assert runtime.surface is not None
    _, _, rects = layout.home_areas(runtime.surface.get_size(), len(body.buttons))
    rect = rects[[b.prefix for b in body.buttons].index(prefix)]
    for _ in range(times):
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=rect.center))


def _waiting(system: RunningSystem, service: str) -> int:
    queue = system.http.get(f"/api/v1/tenants/{system.tenant}/queue").json()
    return int(next(s["waiting"] for s in queue["services"] if s["prefix"] == service))


def _save(runtime: AgentRuntime[Any, Any], path: Path) -> None:
    assert runtime.surface is not None
    pygame.image.save(runtime.surface, str(path))


def _wait(runtime: AgentRuntime[Any, Any], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    runtime.run(until=lambda: time.monotonic() >= deadline, timeout_s=seconds + 5)


def test_a_double_tap_issues_one_ticket_shown_printed_then_called_with_sound(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wav = audio.disk_audio_env(monkeypatch, output_dir / "totem-audio.raw")
    printer = output_dir / "printer.bin"
    printer.unlink(missing_ok=True)  # output_dir outlives the run: no stale ticket may pass
    before = _waiting(system, "A")
    with totem(
        system, device(system, "totem"), width=1920, height=1080, printer=f"file:{printer}"
    ) as runtime:
        _ready(runtime)
        _save(runtime, output_dir / "totem-1920x1080-home.png")
        _tap_service(runtime, "A", times=2)  # an impatient customer taps twice
        runtime.run(until=lambda: isinstance(runtime.state.screen, ShowingTicket), timeout_s=20)
        runtime.run(until=lambda: printer.exists() and printer.stat().st_size > 0, timeout_s=10)
        body = view_of(runtime).body
        assert isinstance(body, TicketView)
        _save(runtime, output_dir / "totem-1920x1080-ticket.png")
        ticket_id = runtime.state.screen.ticket_id
        ticket = system.http.get(f"/api/v1/tenants/{system.tenant}/tickets/{ticket_id}").json()
        assert body.number == ticket["number"]
        assert body.qr_url == f"{system.base_url}/t/{system.tenant}/ticket/{ticket_id}"
        assert _waiting(system, "A") == before + 1, "two taps, one ticket"
        printed = printer.read_bytes()
        assert ticket["number"].encode() in printed
        assert body.qr_url.encode() in printed  # native QR command carries the URL
        # The issue time on the tenant's wall clock (what the kiosk's screen shows), not UTC.
        timezone = system.http.get(f"/api/v1/tenants/{system.tenant}/queue").json()["timezone"]
        issued = datetime.fromisoformat(ticket["created_at"])
        local = issued.astimezone(ZoneInfo(timezone)).strftime("%d/%m/%Y %H:%M")
        assert issued.utcoffset() == timedelta(0)
        assert ZoneInfo(timezone).utcoffset(issued) != timedelta(0), "a zone that tells UTC apart"
        assert local.encode() in printed
        assert issued.strftime("%d/%m/%Y %H:%M").encode() not in printed
        assert printed.endswith(b"\x1dV\x00")  # and the paper is cut

        name_counter(system, 3, "Sala de Coleta 3")
        Operator(system).call(ticket_id, 3)
        runtime.run(until=lambda: isinstance(runtime.state.screen, ShowingCall), timeout_s=20)
        called = view_of(runtime).body
        assert isinstance(called, CalledView)
        # The customer is sent to the counter's name, not to "counter 3".
        assert (called.number, called.counter) == (ticket["number"], "Sala de Coleta 3")
        _save(runtime, output_dir / "totem-1920x1080-called.png")
        runtime.run(until=lambda: not runtime.player.busy, timeout_s=30)
        _wait(runtime, 0.4)
    pcm = wav.read_bytes()
    assert audio.peak(pcm) > 5000, "the disk-audio output holds a real, non-silent sound"
    assert len(audio.positions(pcm, audio.chime())) == 1


def test_broker_down_means_polling_and_state_still_follows_http(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio.disk_audio_env(monkeypatch, output_dir / "totem-audio.raw")
    operator = Operator(system)
    with totem(system, device(system, "totem"), speech=False) as runtime:
        _ready(runtime)
        system.stop_broker()
        runtime.run(
            until=lambda: view_of(runtime).header.connection is Connection.POLLING, timeout_s=20
        )
        # The words of the pages (one catalogue).
        assert view_of(runtime).header.connection_text == "Atualização periódica"
        # A customer takes a ticket and it is called while MQTT is down: HTTP carries both.
        _tap_service(runtime, "A")
        runtime.run(until=lambda: isinstance(runtime.state.screen, ShowingTicket), timeout_s=20)
        ticket_id = runtime.state.screen.ticket_id
        operator.call(ticket_id, 2)
        runtime.run(until=lambda: isinstance(runtime.state.screen, ShowingCall), timeout_s=20)
        _save(runtime, output_dir / "totem-1280x720-called-while-polling.png")
        system.start_broker()
        runtime.run(
            until=lambda: view_of(runtime).header.connection is Connection.LIVE, timeout_s=30
        )
        assert view_of(runtime).header.connection_text == "Ao vivo"


def test_garbage_and_foreign_payloads_on_its_topics_are_ignored(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio.disk_audio_env(monkeypatch, output_dir / "totem-audio.raw")
    publisher_token, _ = issue_token(
        secret=DEV_SECRET,
        subject="publisher",
        role=Role.PUBLISHER,
        tenant=None,
        ttl=timedelta(minutes=5),
    )
    rogue = Recorder("127.0.0.1", system.mqtt_port, username="publisher", password=publisher_token)
    rogue.connect()
    try:
        with totem(system, device(system, "totem"), speech=False) as runtime:
            _ready(runtime)
            seq = runtime.state.feed.snapshot.seq
            topic = queue_topic(system.tenant)
            for payload in (
                b"\xff\xfe not json",
                b'{"type": "queue_update"}',
                b'{"type": "launch_missiles", "tenant": "default"}',
                b"[]" * 1000,
                encode(snapshot(seq + 1000, tenant="other")),  # another tenant's document
            ):
                rogue.publish(topic, payload, qos=1)
            rogue.publish(ticket_topic(system.tenant, "no-such-ticket"), b"{", qos=1)
            _wait(runtime, 1.0)
            assert runtime.state.feed.snapshot.seq == seq, "nothing garbage was applied"
            # ...and the agent still follows real changes.
            Operator(system).issue("P")
            runtime.run(until=lambda: runtime.state.feed.snapshot.seq > seq, timeout_s=20)
            assert runtime.state.feed.link_up
    finally:
        rogue.close()


def test_api_unreachable_shows_a_clear_message_and_the_kiosk_carries_on(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio.disk_audio_env(monkeypatch, output_dir / "totem-audio.raw")
    dead_api = f"http://127.0.0.1:{free_port()}"
    with totem(
        system, device(system, "totem"), api=dead_api, issue_retry_s=1.0, speech=False
    ) as runtime:
        _ready(runtime)  # MQTT still brings the snapshot, so services are offered
        _tap_service(runtime, "A")
        runtime.run(until=lambda: isinstance(runtime.state.screen, ShowingError), timeout_s=30)
        # The pages' words for the same failure (error.network in the one catalogue).
        assert (
            view_of(runtime).body.message
            == "Sem resposta do servidor. Verifique a conexão e tente de novo."
        )
        _save(runtime, output_dir / "totem-1280x720-api-unreachable.png")
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(10, 400)))
        runtime.run(until=lambda: isinstance(view_of(runtime).body, HomeView), timeout_s=10)


def test_qr_codes_on_screen_and_paper_open_the_configured_public_url(
    tmp_path: Path, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QUEUECAST_PUBLIC_URL is where phones reach the pages; --api (a LAN address) is not."""
    audio.disk_audio_env(monkeypatch, output_dir / "totem-audio.raw")
    public = "https://fila.example.org"
    printer = output_dir / "printer-public-url.bin"
    printer.unlink(missing_ok=True)
    env = {"QUEUECAST_PUBLIC_URL": public + "/"}
    with start_system(tmp_path, separate_broker=True, env=env) as configured:
        token = device(configured, "totem")
        auth = configured.auth(token)
        credentials = configured.http.get(
            f"/api/v1/tenants/{configured.tenant}/mqtt-credentials", headers=auth
        ).json()
        if "public_url" not in credentials:
            pytest.skip("this server does not publish public_url yet (issue 14, branch kiosk)")
        with totem(configured, token, speech=False, printer=f"file:{printer}") as runtime:
            _ready(runtime)
            runtime.run(until=lambda: runtime.state.public_url == public, timeout_s=20)
            _tap_service(runtime, "A")
            runtime.run(until=lambda: isinstance(runtime.state.screen, ShowingTicket), timeout_s=20)
            runtime.run(until=lambda: printer.exists() and printer.stat().st_size > 0, timeout_s=10)
            ticket_id = runtime.state.screen.ticket_id
            expected = f"{public}/t/{configured.tenant}/ticket/{ticket_id}"
            body = view_of(runtime).body
            assert isinstance(body, TicketView)
            assert body.qr_url == expected
            assert expected.encode() in printer.read_bytes()
            assert configured.base_url.encode() not in printer.read_bytes()
