"""The real display agent, headless, against the real API and a separate broker process:
what it draws and what it plays (SDL disk audio), across calls, recalls and broker outages."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import DEV_SECRET
from edge.feed import Connection
from edge.pg import pygame
from edge.runtime import AgentRuntime
from protocol import issue_token
from protocol.auth import peek_token
from tests.agents import audio
from tests.agents.audio import requires_espeak
from tests.agents.running import display, view_of
from tests.agents.system_fixtures import Operator, device, system
from tests.support.desk import name_counter
from tests.support.system import RunningSystem

__all__ = ["system"]  # the module-scoped fixture, re-exported for pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _calls(runtime: AgentRuntime[Any, Any]) -> list[str]:
    snapshot = runtime.state.feed.snapshot
    return [] if snapshot is None else [c.number for c in snapshot.last_calls]


def _settle(runtime: AgentRuntime[Any, Any], seconds: float = 0.4) -> None:
    """Let the mixer write the tail of the last sound to the disk-audio file."""
    deadline = time.monotonic() + seconds
    runtime.run(until=lambda: time.monotonic() >= deadline, timeout_s=seconds + 5)


def _played(runtime: AgentRuntime[Any, Any]) -> None:
    runtime.run(until=lambda: not runtime.player.busy, timeout_s=60)
    _settle(runtime)


def _save(runtime: AgentRuntime[Any, Any], path: Path) -> Path:
    assert runtime.surface is not None
    pygame.image.save(runtime.surface, str(path))
    return path


@requires_espeak
def test_three_quick_calls_are_announced_in_order_without_overlap_and_never_repeated(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = Operator(system)
    tickets = [operator.issue("A") for _ in range(3)]
    wav = audio.disk_audio_env(monkeypatch, output_dir / "display-audio.raw")
    with display(system, device(system, "display"), width=1920, height=1080) as runtime:
        runtime.run(
            until=lambda: runtime.state.feed.link_up and runtime.state.feed.snapshot is not None,
            timeout_s=20,
        )
        frames_before = runtime.frames
        called = [
            operator.call(t["id"], counter) for t, counter in zip(tickets, (1, 2, 3), strict=True)
        ]
        numbers = [t["number"] for t in called]
        runtime.run(until=lambda: _calls(runtime)[:3] == numbers[::-1], timeout_s=20)
        _played(runtime)
        assert runtime.frames > frames_before
        # History: newest call large, the two before it listed in order below it.
        assert view_of(runtime).current.number == numbers[2]
        assert [line.number for line in view_of(runtime).history[:2]] == [numbers[1], numbers[0]]
        _save(runtime, output_dir / "display-1920x1080-three-calls.png")
        # What each call says: its counter's name, as the snapshot names it.
        snapshot = runtime.state.feed.snapshot
        assert snapshot is not None
        names = {c.number: c.counter_name for c in snapshot.last_calls}
        said = [audio.speech(n, c, names[n]) for n, c in zip(numbers, (1, 2, 3), strict=True)]

        # Broker down and back: the retained snapshot returns, and nothing is replayed.
        system.stop_broker()
        runtime.run(until=lambda: runtime.state.feed.connection is Connection.POLLING, timeout_s=20)
        system.start_broker()
        runtime.run(until=lambda: runtime.state.feed.connection is Connection.LIVE, timeout_s=30)
        _settle(runtime, 2.0)
        assert not runtime.player.busy

    pcm = wav.read_bytes()
    chimes = audio.positions(pcm, audio.chime())
    spoken = [audio.positions(pcm, sound) for sound in said]
    assert len(chimes) == 3, f"expected 3 chimes, found {len(chimes)}"
    assert [len(s) for s in spoken] == [1, 1, 1], "each call spoken exactly once"
    starts = [s[0] for s in spoken]
    assert starts == sorted(starts), "announced in call order"
    for i in range(3):
        # chime i, then its speech, finishing before chime i+1 starts: no overlap.
        assert chimes[i] + len(audio.chime()) <= starts[i]
        if i < 2:
            assert starts[i] + len(said[i]) <= chimes[i + 1]


@requires_espeak
def test_a_call_made_during_an_outage_is_announced_once_after_reconnect(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = Operator(system)
    ticket = operator.issue("A")
    name_counter(system, 2, "Sala de Coleta 2")
    wav = audio.disk_audio_env(monkeypatch, output_dir / "display-audio.raw")
    # Polling slower than the outage: the call can only arrive with the retained snapshot.
    with display(system, device(system, "display"), poll_interval_s=30) as runtime:
        runtime.run(
            until=lambda: runtime.state.feed.link_up and runtime.state.feed.snapshot is not None,
            timeout_s=20,
        )
        # A display that starts announces the calls of the last minute (the earlier tests'
        # here): let them play, and count only what is heard after this mark.
        _played(runtime)
        mark = len(wav.read_bytes())
        system.stop_broker()
        runtime.run(until=lambda: not runtime.state.feed.link_up, timeout_s=20)
        number = operator.call(ticket["id"], 2)["number"]
        _settle(runtime, 5.0)
        assert number not in _calls(runtime)
        system.start_broker()
        runtime.run(until=lambda: number in _calls(runtime), timeout_s=30)
        _played(runtime)
        _settle(runtime, 1.5)
        _save(runtime, output_dir / "display-1280x720-after-outage.png")
        assert view_of(runtime).current.number == number
        # Shown and spoken by the counter's name: "Senha A, 0 0 4. Sala de Coleta 2."
        assert view_of(runtime).current.counter == "Sala de Coleta 2"
    name_counter(system, 2, "Guichê 2")
    pcm = wav.read_bytes()
    assert len([p for p in audio.positions(pcm, audio.chime()) if p >= mark]) == 1
    assert len(audio.positions(pcm, audio.speech(number, 2, "Sala de Coleta 2"))) == 1


def test_filters_and_screenshots_at_both_resolutions(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = Operator(system)
    a_ticket, p_ticket = operator.issue("A"), operator.issue("P")
    audio.disk_audio_env(monkeypatch, output_dir / "display-audio.raw")
    token = device(system, "display")
    for width, height in ((1920, 1080), (1280, 720)):
        with display(
            system, token, width=width, height=height, services=["P"], speech=False
        ) as runtime:
            runtime.run(until=lambda: runtime.state.feed.snapshot is not None, timeout_s=20)
            if width == 1920:
                operator.call(a_ticket["id"], 1)
                p_number = operator.call(p_ticket["id"], 3)["number"]
            runtime.run(
                until=lambda: runtime.view is not None and view_of(runtime).current is not None,
                timeout_s=20,
            )
            # Only service P is shown on this display, though A was called too.
            assert view_of(runtime).current.number == p_number
            assert all(line.number.startswith("P") for line in view_of(runtime).history)
            shot = _save(runtime, output_dir / f"display-{width}x{height}-filtered.png")
            assert pygame.image.load(str(shot)).get_size() == (width, height)


def test_the_broker_address_comes_from_the_api_when_not_configured(
    system: RunningSystem, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = system.http.get(f"/api/v1/tenants/{system.tenant}/mqtt-credentials")
    if credentials.status_code == 404:
        pytest.skip("the API has no /mqtt-credentials endpoint yet (realtime issue)")
    audio.disk_audio_env(monkeypatch, output_dir / "display-audio.raw")
    with display(system, device(system, "display"), mqtt_url=None) as runtime:
        runtime.run(until=lambda: runtime.state.feed.link_up, timeout_s=30)


def test_a_token_near_its_expiry_is_renewed_and_saved_in_its_file(
    system: RunningSystem, tmp_path: Path, output_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = peek_token(device(system, "display"))
    # The same device and token id, as it would be a year after the admin issued it.
    expiring, _ = issue_token(
        secret=DEV_SECRET,
        subject=held.subject,
        role=held.role,
        tenant=held.tenant,
        ttl=timedelta(days=2),
        token_id=held.token_id,
    )
    token_file = tmp_path / "device-token"
    token_file.write_text(expiring + "\n")
    audio.disk_audio_env(monkeypatch, output_dir / "display-audio.raw")
    with display(system, "", device_token=None, device_token_file=token_file) as runtime:
        runtime.run(
            until=lambda: runtime.credential.current() != expiring and runtime.state.feed.link_up,
            timeout_s=30,
        )
        saved = token_file.read_text().strip()
        assert saved == runtime.credential.current(), "the renewed token is kept in its file"
        renewed = peek_token(saved)
        assert renewed.token_id == held.token_id
        assert renewed.expires_at - datetime.now(UTC) > timedelta(days=300)
        # The next requests and connections use it: the API accepts it.
        r = system.http.get(
            f"/api/v1/tenants/{system.tenant}/services",
            headers={"Authorization": f"Bearer {saved}"},
        )
        assert r.status_code == 200
