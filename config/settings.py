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


MIN_SECRET_LENGTH = 32
# 40 x "x" is 40 characters and no secret at all; any random token has dozens of distinct ones.
MIN_SECRET_DISTINCT = 12
MIN_BOOTSTRAP_PASSWORD = 12


def distinct_characters(text: str) -> int:
    """A cheap floor on guessability: a random secret uses many different characters."""
    return len(set(text))


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
        "default: the scheme, address and port the connection actually reached (never the "
        "client's Host header)",
    )
    http_tls_cert: Path | None = Field(
        default=None, description="PEM certificate (chain): serve HTTPS (and WSS /mqtt)"
    )
    http_tls_key: Path | None = Field(default=None, description="PEM private key of it")
    http_hsts_max_age_s: int = Field(
        default=31_536_000,
        ge=0,
        description="Strict-Transport-Security max-age sent over HTTPS (0: no header)",
    )
    http_max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body; larger ones get 413 before they are read",
    )
    http_max_header_bytes: int = Field(
        default=16 * 1024, gt=0, description="Largest request line + headers (431 beyond)"
    )
    http_request_timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="A request must arrive whole (headers and body) within this; a connection "
        "that sends nothing is closed after it too",
    )
    http_keepalive_timeout_s: int = Field(
        default=5, gt=0, description="Idle keep-alive connections are closed after this"
    )
    http_max_connections: int = Field(
        default=10_000,
        gt=0,
        description="HTTP connections (WebSocket screens included) held at once; lowered to fit "
        "the open-files limit next to the MQTT listener",
    )
    api_docs: bool | None = Field(
        default=None, description="Serve /docs and /openapi.json; default: only in dev mode"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="/metrics requires `Authorization: Bearer <this>` (or a superadmin token)",
    )
    metrics_public: bool | None = Field(
        default=None, description="/metrics without a token; default: only in dev mode"
    )

    # Abuse limits
    login_concurrency: int = Field(
        default=1,
        gt=0,
        description="Password checks run at once (argon2: ~0.2 s of CPU and 64 MiB each); one "
        "leaves the other cores to the event loop and the writer under a login flood",
    )
    login_queue: int = Field(
        default=16, ge=0, description="Password checks waiting for a slot; beyond: 429"
    )
    login_per_ip: int = Field(
        default=10, gt=0, description="Login attempts per client address per login_window_s"
    )
    login_per_user: int = Field(
        default=5, gt=0, description="Failed logins per username per login_window_s"
    )
    login_window_s: float = Field(default=60.0, gt=0)
    issue_per_device: int = Field(
        default=30,
        gt=0,
        description="Tickets one totem device may issue per issue_window_s (burst)",
    )
    issue_window_s: float = Field(default=60.0, gt=0)
    fault_log_interval_s: float = Field(
        default=10.0,
        gt=0,
        description="Repeated client faults (refused publishes, failed logins, ...) are logged "
        "once per interval with a count",
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
        "database for revoked device and user tokens, and how long a CONNECT may rely on an "
        "earlier answer (so a revoked token is refused within it); the API's process also "
        "forgets an answer at once when a commit changes credentials",
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
    outbox_poll_s: float = Field(
        default=1.0,
        gt=0,
        description="PostgreSQL: how often each replica's outbox relay tries to become the "
        "publishing leader (the takeover time after a leader dies) and re-reads the outbox "
        "without a NOTIFY",
    )

    mqtt_dynsec_admin_username: str | None = Field(
        default=None,
        description="External Mosquitto with the dynamic-security plugin: the admin login the "
        "API provisions it with (deploy/cluster/start-mosquitto writes it to mosquitto.env). "
        "Set: the broker enforces our grants itself and clients get broker passwords from "
        "/mqtt-credentials",
    )
    mqtt_dynsec_admin_password: SecretStr | None = None
    mqtt_dynsec_public_rotation_s: int = Field(
        default=3600,
        ge=60,
        description="Dynamic security: how often each tenant's public password changes (a "
        "password handed out works for one to two periods)",
    )
    mqtt_dynsec_sync_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="Dynamic security: full re-sync of the broker's logins at least this often "
        "(besides every change of who may connect and every reconnect)",
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
        secret = self.secret_key.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"QUEUECAST_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters long"
            )
        if distinct_characters(secret) < MIN_SECRET_DISTINCT:
            raise ValueError(
                "QUEUECAST_SECRET_KEY is too predictable (a long run of few characters); use a "
                "random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        if (self.http_tls_cert is None) != (self.http_tls_key is None):
            raise ValueError(
                "set both QUEUECAST_HTTP_TLS_CERT and QUEUECAST_HTTP_TLS_KEY, or neither"
            )
        self._check_bootstrap_superadmin()
        if (self.mqtt_tls_cert is None) != (self.mqtt_tls_key is None):
            raise ValueError(
                "set both QUEUECAST_MQTT_TLS_CERT and QUEUECAST_MQTT_TLS_KEY, or neither"
            )
        if self.mqtt_dynsec_admin_username is not None and (
            self.mqtt_dynsec_admin_password is None or not self.mqtt_external_url
        ):
            raise ValueError(
                "QUEUECAST_MQTT_DYNSEC_ADMIN_USERNAME needs QUEUECAST_MQTT_DYNSEC_ADMIN_PASSWORD "
                "and QUEUECAST_MQTT_EXTERNAL_URL (the Mosquitto it provisions)"
            )
        return self

    @property
    def mqtt_dynsec(self) -> bool:
        """An external Mosquitto whose dynamic-security plugin the API keeps in step."""
        return self.mqtt_dynsec_admin_username is not None

    def _check_bootstrap_superadmin(self) -> None:
        if self.bootstrap_superadmin is None:
            return
        username, colon, password = self.bootstrap_superadmin.get_secret_value().partition(":")
        if not username or not colon:
            raise ValueError("QUEUECAST_BOOTSTRAP_SUPERADMIN must be username:password")
        if len(password) < MIN_BOOTSTRAP_PASSWORD or distinct_characters(password) < 5:
            raise ValueError(
                f"the QUEUECAST_BOOTSTRAP_SUPERADMIN password must have at least "
                f"{MIN_BOOTSTRAP_PASSWORD} characters, not mostly the same ones: it opens every "
                "tenant"
            )

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV

    @property
    def https(self) -> bool:
        return self.http_tls_cert is not None

    @property
    def docs_enabled(self) -> bool:
        return self.is_dev if self.api_docs is None else self.api_docs

    @property
    def metrics_open(self) -> bool:
        return self.is_dev if self.metrics_public is None else self.metrics_public

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'queuecast.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once. Tests pass their own ``Settings`` instead."""
    return Settings()
