"""Dynamic-security settings: provisioning needs the admin's password and the broker it
provisions, and says so at start-up rather than failing later."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from config import Settings


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, env="dev", **values)


@pytest.mark.parametrize(
    "values",
    [
        {"mqtt_dynsec_admin_username": "queuecast-admin"},
        {"mqtt_dynsec_admin_username": "queuecast-admin", "mqtt_dynsec_admin_password": "pw"},
        {
            "mqtt_dynsec_admin_username": "queuecast-admin",
            "mqtt_external_url": "mqtt://127.0.0.1:1883",
        },
    ],
)
def test_an_incomplete_dynsec_configuration_is_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="QUEUECAST_MQTT_DYNSEC_ADMIN_USERNAME needs"):
        settings(**values)


def test_dynsec_is_on_only_when_configured() -> None:
    assert not settings().mqtt_dynsec
    configured = settings(
        mqtt_dynsec_admin_username="queuecast-admin",
        mqtt_dynsec_admin_password="pw",
        mqtt_external_url="mqtt://127.0.0.1:1883",
    )
    assert configured.mqtt_dynsec
    assert configured.mqtt_dynsec_public_rotation_s == 3600
    with pytest.raises(ValidationError):
        settings(mqtt_dynsec_public_rotation_s=10)  # under a minute: pages would churn
