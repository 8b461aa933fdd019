"""Footprint of the pygame agents: idle CPU and RSS, message -> frame and message -> sound-start.

    .venv/bin/python -m bench.agent_footprint [--idle-s 60] [--rounds 10]

Runs the real system (API + broker process, dev seed, temporary database) and, for each agent:

* **idle** — the agent as a subprocess (``python -m display_agent`` / ``totem_agent``, headless:
  SDL dummy video, disk audio), connected and showing a snapshot; CPU time and RSS sampled with
  psutil over ``--idle-s`` seconds, with sound on (mixer open) and off.
* **latency** — the agent in-process with ``--trace-file``: an operator calls a ticket over HTTP
  ``--rounds`` times; from the agent's trace, the time from the snapshot's arrival (MQTT thread)
  to the next frame flipped, and to the chime's ``Channel.play`` (the audio device adds at most
  one mixer buffer, 512 samples at 22.05 kHz = 23 ms, before it is heard).

Results go to stdout (markdown) and bench/results/agent_footprint.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import psutil  # type: ignore[import-untyped]  # no stubs published

from edge.runtime import AgentRuntime
from tests.agents.running import display, totem
from tests.support.system import ROOT, RunningSystem, start_system
from totem_agent.state import BackTapped, Home, ServiceTapped, ShowingTicket

RESULTS = ROOT / "bench" / "results"


def idle(
    agent: str, system: RunningSystem, token: str, work: Path, seconds: float, sound: bool
) -> dict[str, float]:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "disk",
        "SDL_DISKAUDIOFILE": str(work / f"{agent}-{sound}.raw"),
        "QUEUECAST_AGENT_API": system.base_url,
        "QUEUECAST_AGENT_TENANT": system.tenant,
        "QUEUECAST_AGENT_DEVICE_TOKEN": token,
        "QUEUECAST_AGENT_MQTT_URL": f"mqtt://127.0.0.1:{system.mqtt_port}",
        "QUEUECAST_AGENT_SOUND": "true" if sound else "false",
        "QUEUECAST_AGENT_WIDTH": "1920",
        "QUEUECAST_AGENT_HEIGHT": "1080",
    }
    with (work / f"{agent}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", agent], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        time.sleep(5)  # start-up, connection, first frames
        watched = psutil.Process(process.pid)
        start = watched.cpu_times()
        began = time.monotonic()
        rss: list[int] = []
        while time.monotonic() - began < seconds:
            rss.append(watched.memory_info().rss)
            time.sleep(1)
        end = watched.cpu_times()
        elapsed = time.monotonic() - began
        cpu = (end.user - start.user + end.system - start.system) / elapsed * 100
        return {"cpu_percent_of_one_core": round(cpu, 3), "rss_max_mb": round(max(rss) / 2**20, 1)}
    finally:
        process.terminate()
        process.wait(15)


def latency(
    agent: str, system: RunningSystem, token: str, work: Path, rounds: int
) -> dict[str, float]:
    trace = work / f"{agent}-trace.jsonl"
    operator = system.auth(system.login("operator"))
    factory = display if agent == "display_agent" else totem
    os.environ["SDL_AUDIODRIVER"] = "disk"
    os.environ["SDL_DISKAUDIOFILE"] = str(work / f"{agent}-latency.raw")
    with factory(system, token, trace_file=trace, speech=False, width=1920, height=1080) as runtime:
        runtime.run(
            until=lambda: runtime.state.feed.link_up and runtime.state.feed.snapshot is not None,
            timeout_s=30,
        )
        for _ in range(rounds):
            _call_once(runtime, system, agent, operator)
    return _latencies(trace)


def _call_once(
    runtime: AgentRuntime[Any, Any], system: RunningSystem, agent: str, operator: dict[str, str]
) -> None:
    """One ticket issued, then called by an operator; returns when it has been announced."""
    path = f"/api/v1/tenants/{system.tenant}"
    if agent == "totem_agent":
        # The totem announces only its own tickets: a customer takes one first.
        runtime.post(ServiceTapped("A", uuid.uuid4().hex))
        runtime.run(until=lambda: isinstance(runtime.state.screen, ShowingTicket), timeout_s=30)
        ticket_id = runtime.state.screen.ticket_id
    else:
        response = system.http.post(
            f"{path}/tickets",
            json={"service": "A", "priority": False},
            headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
        )
        ticket_id = response.json()["id"]
    seq = runtime.state.feed.snapshot.seq
    system.http.post(f"{path}/tickets/{ticket_id}/call", json={"counter": 1}, headers=operator)
    runtime.run(
        until=lambda: runtime.state.feed.snapshot.seq > seq and not runtime.player.busy,
        timeout_s=30,
    )
    deadline = time.monotonic() + 0.3
    runtime.run(until=lambda: time.monotonic() > deadline, timeout_s=5)
    if agent == "totem_agent":
        runtime.post(BackTapped())
        runtime.run(until=lambda: isinstance(runtime.state.screen, Home), timeout_s=10)


def _latencies(trace: Path) -> dict[str, float]:
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    to_frame, to_sound = [], []
    for i, event in enumerate(events):
        if event["event"] != "snapshot":
            continue
        later = events[i + 1 :]
        frame = next((e for e in later if e["event"] in ("frame", "snapshot")), None)
        if frame is not None and frame["event"] == "frame":
            to_frame.append((frame["t"] - event["t"]) * 1000)
        sound = next((e for e in later if e["event"] in ("sound", "snapshot")), None)
        if sound is not None and sound["event"] == "sound":
            to_sound.append((sound["t"] - event["t"]) * 1000)
    return {
        "frames_measured": len(to_frame),
        "message_to_frame_ms_median": round(statistics.median(to_frame), 2),
        "message_to_frame_ms_max": round(max(to_frame), 2),
        "sounds_measured": len(to_sound),
        "message_to_sound_start_ms_median": round(statistics.median(to_sound), 2),
        "message_to_sound_start_ms_max": round(max(to_sound), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "idle_s": args.idle_s,
        "rounds": args.rounds,
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_system(Path(tmp), separate_broker=True) as system,
    ):
        work = Path(tmp)
        for agent, role in (("display_agent", "display"), ("totem_agent", "totem")):
            token = system.device_token(role=role, device_id=f"bench-{role}-{uuid.uuid4().hex[:6]}")
            results[agent] = {
                "idle_sound_on": idle(agent, system, token, work, args.idle_s, sound=True),
                "idle_sound_off": idle(agent, system, token, work, args.idle_s, sound=False),
                **latency(agent, system, token, work, args.rounds),
            }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "agent_footprint.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
