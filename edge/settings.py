"""Agent settings: command-line options, ``QUEUECAST_AGENT_*`` environment variables or ``.env``.

One settings class per agent (both derive from :class:`AgentSettings`); :func:`load_settings`
builds the command line from the class's fields, so every option is also an environment
variable and nothing is declared twice.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from protocol import InvalidToken, Principal, TenantId
from protocol.auth import peek_token

ENV_PREFIX = "QUEUECAST_AGENT_"


def _split_commas(value: Any) -> Any:
    """``"A,P"`` (command line, environment) -> ``["A", "P"]``; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()] or None
    return value


class AgentSettings(BaseSettings):
    """What every agent needs to know. The device's id and role come from its token."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    api: str = Field(description="Base URL of the QueueCast API, e.g. http://192.168.0.10:8000")
    tenant: TenantId = Field(description="Tenant id this device belongs to")
    device_token: SecretStr | None = Field(
        default=None, description="Device token from the admin API (prefer --device-token-file)"
    )
    device_token_file: Path | None = Field(
        default=None, description="File holding the device token (keeps it out of `ps`)"
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://host:port of the broker; default: asked from the API",
    )
    pair: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="One-time pairing code from the admin console: exchanged at start for the "
        "device token, written to --device-token-file",
    )
    fullscreen: bool = Field(default=False, description="Take the whole screen (kiosk mode)")
    width: int = Field(default=1280, ge=320, description="Window width when not fullscreen")
    height: int = Field(default=720, ge=240, description="Window height when not fullscreen")
    locale: str | None = Field(
        default=None, description="pt-BR, en or es; default: the tenant's locale"
    )
    font: Path | None = Field(default=None, description="TrueType font file for all text")
    sound: bool = Field(default=True, description="Play the chime and spoken calls")
    speech: bool = Field(default=True, description="Speak calls with espeak-ng when installed")
    poll_interval_s: float = Field(
        default=5.0, gt=0, description="HTTP polling period while MQTT is down"
    )
    reconnect_min_s: float = Field(default=0.5, gt=0, description="First reconnect delay")
    reconnect_max_s: float = Field(default=30.0, gt=0, description="Reconnect delay cap")
    recent_call_s: float = Field(
        default=60.0, gt=0, description="Only calls younger than this are announced"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    trace_file: Path | None = Field(
        default=None, description="Append timing events (JSON lines) here; for bench/"
    )

    @field_validator("api")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("must start with mqtt:// or mqtts://")
        return value

    @model_validator(mode="after")
    def _one_token(self) -> Self:
        if self.pair is not None and (self.device_token_file is None or self.device_token):
            raise ValueError("pair needs device_token_file (where the token is written)")
        if (self.device_token is None) == (self.device_token_file is None):
            raise ValueError("give exactly one of device_token or device_token_file")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        return self

    def token(self) -> str:
        """The device token, read from the file when one is configured."""
        if self.device_token is not None:
            return self.device_token.get_secret_value()
        assert self.device_token_file is not None  # guaranteed by _one_token
        return self.device_token_file.read_text().strip()

    def identity(self) -> Principal:
        """Who this device is, from its token; refuses a token for another tenant or a
        non-device role, so a misconfigured kiosk fails at start with a clear message."""
        try:
            principal = peek_token(self.token())
        except InvalidToken as exc:
            raise ValueError(f"device token: {exc}") from None
        if not principal.is_device:
            raise ValueError(f"the token is a {principal.role} token, not a device token")
        if principal.tenant != self.tenant:
            raise ValueError(
                f"the device token belongs to tenant {principal.tenant!r}, not {self.tenant!r}"
            )
        return principal


CommaList = Annotated[list[str] | None, NoDecode]
"""A list field given as ``A,P`` on the command line or in the environment."""

CommaInts = Annotated[list[int] | None, NoDecode]

SettingsT = TypeVar("SettingsT", bound=AgentSettings)


def comma_list(value: Any) -> Any:
    """Validator body for :data:`CommaList` / :data:`CommaInts` fields."""
    return _split_commas(value)


def build_parser(
    settings_cls: type[AgentSettings], prog: str, description: str
) -> argparse.ArgumentParser:
    """A command line with one option per settings field (``poll_interval_s`` ->
    ``--poll-interval-s``); every default stays in the settings class."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f"Every option can also be set as an environment variable {ENV_PREFIX}<NAME>.",
    )
    for name, field in settings_cls.model_fields.items():
        flag = "--" + name.replace("_", "-")
        help_text = field.description or ""
        if field.annotation is bool:
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(flag, dest=name, default=None, metavar=name.upper(), help=help_text)
    return parser


def load_settings(
    settings_cls: type[SettingsT], argv: Sequence[str] | None, *, prog: str, description: str
) -> SettingsT:
    """Parse the command line over the environment; exits with a readable message on bad input."""
    parser = build_parser(settings_cls, prog, description)
    given = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    try:
        return settings_cls(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        parser.error(problems)
