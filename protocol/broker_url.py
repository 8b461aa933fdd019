"""Where an MQTT broker is, from its URL: the one parser for the API's external-broker setting
(``QUEUECAST_MQTT_EXTERNAL_URL``) and for the agents (the ``mqtt_url`` the credentials endpoint
gives them, or their own setting)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

_TLS_SCHEMES = ("mqtts", "ssl")
_SCHEMES = ("mqtt", "tcp", *_TLS_SCHEMES)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """``mqtt://[user[:password]@]host[:port]`` (default port 1883) or ``mqtts://...``
        (TLS, default port 8883); ``tcp://`` and ``ssl://`` are paho's names for the same."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:  # a port that is not a number, or out of range
            raise ValueError(f"not an MQTT broker URL: {url!r} ({exc})") from None
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(f"not an MQTT broker URL: {url!r} (expected mqtt://host:port)")
        tls = parts.scheme in _TLS_SCHEMES
        return cls(
            host=parts.hostname,
            port=port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )
