"""Agent settings: one option per field on the command line, the same from the environment,
and clear refusals for a token that is not this device's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from display_agent.settings import DisplaySettings
from edge.settings import build_parser, load_settings
from protocol import Role, issue_token
from totem_agent.settings import TotemSettings

SECRET = "s" * 40


def token(role: Role = Role.DISPLAY, tenant: str = "default", subject: str = "tv-1") -> str:
    return issue_token(
        secret=SECRET, subject=subject, role=role, tenant=tenant, ttl=timedelta(days=1)
    )[0]


def test_command_line_with_lists_and_flags() -> None:
    settings = load_settings(
        DisplaySettings,
        [
            "--api",
            "http://10.0.0.5:8000/",
            "--tenant",
            "default",
            "--device-token",
            token(),
            "--services",
            "A, P",
            "--counters",
            "1,2",
            "--fullscreen",
            "--no-speech",
            "--poll-interval-s",
            "2.5",
        ],
        prog="x",
        description="x",
    )
    assert settings.api == "http://10.0.0.5:8000"
    assert settings.services == ["A", "P"]
    assert settings.counters == [1, 2]
    assert (settings.fullscreen, settings.speech, settings.poll_interval_s) == (True, False, 2.5)
    assert settings.identity().subject == "tv-1"


def test_environment_sets_the_same_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(token(Role.TOTEM, subject="kiosk-1") + "\n")
    monkeypatch.setenv("QUEUECAST_AGENT_API", "https://queue.example")
    monkeypatch.setenv("QUEUECAST_AGENT_TENANT", "default")
    monkeypatch.setenv("QUEUECAST_AGENT_DEVICE_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("QUEUECAST_AGENT_PRINTER", "network:10.0.0.9")
    monkeypatch.setenv("QUEUECAST_AGENT_LOCALE", "es")
    settings = load_settings(TotemSettings, [], prog="x", description="x")
    assert settings.printer == "network:10.0.0.9"
    assert settings.locale == "es"
    assert settings.identity().subject == "kiosk-1"


def test_every_field_is_an_option() -> None:
    help_text = build_parser(DisplaySettings, "x", "x").format_help()
    for name in DisplaySettings.model_fields:
        assert "--" + name.replace("_", "-") in help_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api", "ftp://x", "--tenant", "default", "--device-token", "t"], "http:// or https://"),
        (["--api", "http://x", "--tenant", "Bad/Tenant", "--device-token", "t"], "tenant"),
        (["--api", "http://x", "--tenant", "default"], "device_token"),
        (
            ["--api", "http://x", "--tenant", "default", "--device-token", "t", "--history", "0"],
            "history",
        ),
        (
            [
                "--api",
                "http://x",
                "--tenant",
                "default",
                "--device-token",
                "t",
                "--mqtt-url",
                "http://b",
            ],
            "mqtt://",
        ),
    ],
)
def test_bad_options_exit_with_a_readable_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        load_settings(DisplaySettings, args, prog="python -m display_agent", description="x")
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("device_token", "message"),
    [
        ("not-a-token", "not a QueueCast token"),
        (token(Role.OPERATOR), "not a device token"),
        (token(tenant="other"), "belongs to tenant 'other'"),
    ],
)
def test_identity_refuses_tokens_that_are_not_this_devices(device_token: str, message: str) -> None:
    settings = DisplaySettings(api="http://x", tenant="default", device_token=device_token)
    with pytest.raises(ValueError, match=message):
        settings.identity()
