"""Run a real agent in-process against a running system: same threads, same main loop as
``python -m``; the test drives the loop (``runtime.run(until=...)``) and reads its state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

from display_agent.app import DisplayProgram
from display_agent.settings import DisplaySettings
from edge.runtime import AgentRuntime
from edge.settings import AgentSettings
from tests.support.system import RunningSystem
from totem_agent.app import TotemProgram
from totem_agent.settings import TotemSettings

SettingsT = TypeVar("SettingsT", bound=AgentSettings)


def settings_for(
    cls: type[SettingsT], system: RunningSystem, token: str, **overrides: Any
) -> SettingsT:
    values: dict[str, Any] = {
        "api": system.base_url,
        "tenant": system.tenant,
        "device_token": token,
        # The credentials endpoint tells agents where the broker is; tests name it directly
        # so they also run against a system whose credentials endpoint is not there yet.
        "mqtt_url": f"mqtt://127.0.0.1:{system.mqtt_port}",
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1.0,
        "poll_interval_s": 1.0,
        "width": 1280,
        "height": 720,
        **overrides,
    }
    return cls(_env_file=None, **values)


@contextlib.contextmanager
def display(
    system: RunningSystem, token: str, **overrides: Any
) -> Iterator[AgentRuntime[Any, Any]]:
    settings = settings_for(DisplaySettings, system, token, **overrides)
    with AgentRuntime(DisplayProgram(settings), settings) as runtime:
        yield runtime


@contextlib.contextmanager
def totem(system: RunningSystem, token: str, **overrides: Any) -> Iterator[AgentRuntime[Any, Any]]:
    settings = settings_for(TotemSettings, system, token, **overrides)
    with AgentRuntime(TotemProgram(settings), settings) as runtime:
        yield runtime


def view_of(runtime: AgentRuntime[Any, Any]) -> Any:
    """The view last drawn (the agent has drawn at least once after ``start``)."""
    assert runtime.view is not None
    return runtime.view
