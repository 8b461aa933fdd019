"""All settings of every QueueCast process, from the environment (``QUEUECAST_*``) or ``.env``.

Processes read them through :func:`get_settings` (cached); tests build a ``Settings(...)`` of their
own and pass it in explicitly, so nothing depends on import-time globals.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-do-not-use-in-production-0123456789"  # noqa: S105 - refused outside dev


class Environment(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QUEUECAST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Field(
        default=Environment.PRODUCTION,
        description="dev seeds demo data and allows the built-in secret; production refuses both",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description="Signs every token (HTTP and MQTT). Set a long random value in production.",
    )
    var_dir: Path = Field(default=Path("var"), description="Runtime state (database, logs)")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file var_dir/queuecast.db (WAL mode)",
    )

    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    http_event_loop: Literal["asyncio", "uvloop", "auto"] = Field(
        default="uvloop",
        description="uvicorn's event loop (it also runs the embedded broker). uvloop handles "
        "the same load with ~15 % less CPU than asyncio's own loop",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL devices and phones use to reach the API (QR codes, credentials); "
        "default: derived from each request's Host header",
    )

    # Tokens
    access_token_ttl_s: int = Field(default=8 * 3600, gt=0, description="Operator/admin login")
    public_token_ttl_s: int = Field(default=3600, gt=0, description="Pages' MQTT tokens")
    device_token_ttl_days: int = Field(default=365, gt=0, description="Device credentials")

    queue_update_version: Literal[1, 2] = Field(
        default=2,
        description="The version label of the retained queue_update. The document is bounded "
        "either way (the next 10 tickets and waiting_total, not the whole list); 1 only for "
        "browser pages of an earlier release still open somewhere (they accept only 1)",
    )
    ticket_lane: bool = Field(
        default=True,
        description="Serve the busiest ticket routes through the ASGI fast lane "
        "(publisher_api/routers/ticket_lane.py); false: FastAPI only (to measure what it pays)",
    )

    # MQTT: embedded broker (default) or external broker
    mqtt_embedded: bool = Field(default=True, description="Run the amqtt broker in-process")
    mqtt_host: str = Field(default="127.0.0.1", description="Embedded broker bind address")
    mqtt_tcp_port: int = Field(default=1883, ge=0, le=65535)
    mqtt_ws_port: int | None = Field(
        default=None,
        description="Dedicated MQTT-over-WebSocket port; default: the HTTP server serves /mqtt",
    )
    mqtt_tls_cert: Path | None = None
    mqtt_tls_key: Path | None = None
    mqtt_max_payload_bytes: int = Field(default=256 * 1024, gt=0)
    mqtt_max_connections: int = Field(default=20_000, gt=0, description="Per listener")
    mqtt_revocation_check_s: float = Field(
        default=30.0,
        gt=0,
        description="python -m broker: how often live connections are checked against the "
        "database for revoked device and user tokens",
    )
    mqtt_external_url: str | None = Field(
        default=None,
        description="mqtt://[user:password@]host:port of an external broker; disables embedded",
    )
    mqtt_public_url: str | None = Field(
        default=None,
        description="mqtt:// URL advertised to clients by /mqtt-credentials; default: the "
        "request's host and the embedded TCP port",
    )
    mqtt_public_ws_url: str | None = Field(
        default=None,
        description="ws(s):// URL advertised for MQTT over WebSocket; default: the HTTP server's "
        "own /mqtt (or the dedicated WebSocket port)",
    )

    # Behaviour
    ticket_clear_grace_s: int = Field(
        default=300, ge=0, description="Seconds a finished ticket stays retained before clearing"
    )
    sweep_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="How often the API ends what expired: tickets called and never started "
        "past the tenant's call timeout (-> no_show), and at the tenant's local midnight "
        "everything still open from an earlier day; each change is published like any other",
    )
    log_level: str = "INFO"
    bootstrap_superadmin: SecretStr | None = Field(
        default=None,
        description="username:password of a superadmin created at start-up if missing: how a "
        "production install gets its first login (dev mode seeds root/root instead)",
    )

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Self:
        if self.env is not Environment.DEV and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError(
                "QUEUECAST_SECRET_KEY is the built-in development secret. Outside dev mode set "
                "QUEUECAST_SECRET_KEY to a long random value (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`), or set QUEUECAST_ENV=dev for a demo."
            )
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("QUEUECAST_SECRET_KEY must be at least 32 characters long")
        if (self.mqtt_tls_cert is None) != (self.mqtt_tls_key is None):
            raise ValueError(
                "set both QUEUECAST_MQTT_TLS_CERT and QUEUECAST_MQTT_TLS_KEY, or neither"
            )
        return self

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'queuecast.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once. Tests pass their own ``Settings`` instead."""
    return Settings()
