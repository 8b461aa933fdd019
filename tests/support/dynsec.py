"""Debian's Mosquitto with the dynamic-security plugin, started by the very script deployments
use (``deploy/cluster/start-mosquitto``), and a provisioner fed from a grants table the test
edits (no database): what the API does, minus the API."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from protocol import Role
from protocol.broker_url import BrokerAddress
from publisher_api.dynsec.control import DynsecControl
from publisher_api.dynsec.model import (
    DeviceGrant,
    Grants,
    Login,
    UserGrant,
    device_login,
    epoch_of,
    public_login,
    publisher_login,
    user_login,
)
from publisher_api.dynsec.provisioner import Provisioner
from tests.support.mosquitto import MOSQUITTO
from tests.support.mqtt import Recorder
from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
START_MOSQUITTO = ROOT / "deploy" / "cluster" / "start-mosquitto"
PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
SECRET = "dynsec-tests-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PERIOD_S = 3600

requires_dynsec = pytest.mark.skipif(
    not (MOSQUITTO.exists() and PLUGIN.exists()),
    reason="Debian package mosquitto (with its dynamic-security plugin) is not installed",
)


def read_env(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in path.read_text().splitlines() if line and "=" in line
    )


@dataclass
class DynsecMosquitto:
    """A running Mosquitto from ``start-mosquitto``; ``env`` is the mosquitto.env it wrote."""

    vardir: Path
    tcp_port: int
    ws_port: int
    proc: subprocess.Popen[bytes]
    env: dict[str, str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def client(
        self, username: str | None, password: str | None, transport: str = "tcp", **kwargs: Any
    ) -> Recorder:
        """A client (not yet connected) on the TCP or the WebSocket listener."""
        return Recorder(
            "127.0.0.1",
            self.ws_port if transport == "websockets" else self.tcp_port,
            username=username,
            password=password,
            transport=transport,  # type: ignore[arg-type]
            **kwargs,
        )

    def log(self) -> str:
        path = self.vardir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def run_dynsec_mosquitto(vardir: Path) -> Iterator[DynsecMosquitto]:
    vardir.mkdir(parents=True, exist_ok=True)
    tcp_port, ws_port = free_port(), free_port()
    with (vardir / "mosquitto.log").open("ab") as log:
        proc = subprocess.Popen(
            [str(START_MOSQUITTO), str(vardir), str(tcp_port), str(ws_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running: DynsecMosquitto | None = None
    try:
        wait_for_port("127.0.0.1", tcp_port)
        wait_for_port("127.0.0.1", ws_port)
        running = DynsecMosquitto(
            vardir, tcp_port, ws_port, proc, read_env(vardir / "mosquitto.env")
        )
        yield running
    finally:
        if running is not None:
            running.stop()
        elif proc.poll() is None:
            proc.terminate()
            proc.wait(10)


@dataclass
class GrantsTable:
    """The grants a test gives the provisioner, edited as the test goes."""

    tenants: set[str] = field(default_factory=lambda: {"a", "b"})
    suspended: set[str] = field(default_factory=set)
    devices: dict[tuple[str, str], DeviceGrant] = field(default_factory=dict)
    users: dict[str, UserGrant] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> Grants:
        with self.lock:
            return Grants(
                tenants=frozenset(self.tenants),
                suspended=frozenset(self.suspended),
                devices=tuple(self.devices.values()),
                users=tuple(self.users.values()),
            )


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Provisioned:
    """The broker, the provisioner and its grants: ``login`` gives the broker login of an
    identity (granting it first when new), as the API's /mqtt-credentials would."""

    broker: DynsecMosquitto
    grants: GrantsTable
    provisioner: Provisioner
    clock: Clock

    def sync(self) -> None:
        assert self.provisioner.wait_synced(15), "the provisioner did not sync"

    def login(self, role: Role, tenant: str | None, subject: str | None = None) -> Login:
        subject = subject or role.value
        if role is Role.PUBLISHER:
            return publisher_login(SECRET)
        if role is Role.PUBLIC:
            assert tenant is not None
            epoch = epoch_of(self.clock(), PERIOD_S)
            return public_login(SECRET, tenant, epoch=epoch, period_s=PERIOD_S)
        if role in (Role.TOTEM, Role.DISPLAY):
            assert tenant is not None
            with self.grants.lock:
                device = self.grants.devices.setdefault(
                    (tenant, subject), DeviceGrant(tenant, subject, role, "token-1")
                )
            self.sync()
            return device_login(SECRET, device)
        with self.grants.lock:
            user = self.grants.users.setdefault(subject, UserGrant(subject, role, tenant, 1))
        self.sync()
        return user_login(SECRET, user)

    def rotate_device(self, tenant: str, device_id: str) -> None:
        with self.grants.lock:
            old = self.grants.devices[(tenant, device_id)]
            self.grants.devices[(tenant, device_id)] = replace(old, token_id=old.token_id + "x")
        self.sync()


@contextlib.contextmanager
def provisioned(vardir: Path) -> Iterator[Provisioned]:
    with run_dynsec_mosquitto(vardir) as broker:
        grants = GrantsTable()
        clock = Clock()
        control = DynsecControl(
            BrokerAddress("127.0.0.1", broker.tcp_port),
            username=broker.env["QUEUECAST_MQTT_DYNSEC_ADMIN_USERNAME"],
            password=broker.env["QUEUECAST_MQTT_DYNSEC_ADMIN_PASSWORD"],
        )
        provisioner = Provisioner(
            control,
            grants.snapshot,
            secret=SECRET,
            period_s=PERIOD_S,
            interval_s=3600,  # the tests ask for each sync
            clock=clock,
        )
        control.start()
        provisioner.start()
        try:
            running = Provisioned(broker, grants, provisioner, clock)
            running.sync()
            yield running
        finally:
            provisioner.stop()
            control.stop()
