"""The provisioner's worker against an in-memory stand-in for the plugin's control API: a sync
runs when asked, failures are retried, and wait_settled waits only while a change is pending.
(The real plugin is exercised in tests/broker/test_mosquitto_dynsec.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from protocol import Role
from protocol.broker_url import BrokerAddress
from publisher_api.dynsec.control import ControlError, DynsecControl, Response
from publisher_api.dynsec.model import DeviceGrant, Grants
from publisher_api.dynsec.provisioner import Provisioner

SECRET = "provisioner-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


class FakePlugin(DynsecControl):
    """Keeps clients and roles in dicts; ``fail`` makes the next calls raise as a lost broker."""

    def __init__(self) -> None:
        super().__init__(BrokerAddress("127.0.0.1", 1), username="admin", password="pw")
        self.clients: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, list[dict[str, Any]]] = {}
        self.fail = 0
        self.batches = 0
        self.lock = threading.Lock()

    @property
    def connected(self) -> bool:
        return True

    def run(self, commands: Sequence[dict[str, Any]], timeout: float = 10.0) -> list[Response]:
        with self.lock:
            if self.fail:
                self.fail -= 1
                raise ControlError("no answer")
            self.batches += 1
            return [self._one(c) for c in commands]

    def _one(self, c: dict[str, Any]) -> Response:
        kind = c["command"]
        if kind == "listClients":
            return {"command": kind, "data": {"clients": list(self.clients.values())}}
        if kind == "listRoles":
            roles = [{"rolename": n, "acls": a} for n, a in self.roles.items()]
            return {"command": kind, "data": {"roles": roles}}
        if kind in ("createRole", "modifyRole"):
            self.roles[c["rolename"]] = c["acls"]
        elif kind == "deleteRole":
            self.roles.pop(c["rolename"], None)
        elif kind == "createClient":
            self.clients[c["username"]] = {
                "username": c["username"],
                "textname": c["textname"],
                "roles": [{"rolename": r["rolename"]} for r in c["roles"]],
            }
        elif kind == "deleteClient":
            self.clients.pop(c["username"], None)
        return {"command": kind}


@pytest.fixture
def plugin() -> FakePlugin:
    return FakePlugin()


@pytest.fixture
def grants() -> list[Grants]:
    return [Grants(tenants=frozenset({"a"}))]


@pytest.fixture
def provisioner(plugin: FakePlugin, grants: list[Grants]) -> Iterator[Provisioner]:
    running = Provisioner(plugin, lambda: grants[0], secret=SECRET, period_s=3600, interval_s=3600)
    running.start()
    yield running
    running.stop()


def test_nothing_pending_returns_at_once_and_a_change_is_synced(
    provisioner: Provisioner, plugin: FakePlugin, grants: list[Grants]
) -> None:
    assert provisioner.wait_settled(0)  # nothing asked yet
    grants[0] = Grants(
        tenants=frozenset({"a"}), devices=(DeviceGrant("a", "totem-1", Role.TOTEM, "t1"),)
    )
    provisioner.request_sync()
    assert provisioner.wait_settled(5)
    assert "qc-device:a:totem-1" in plugin.clients
    assert {"qc-public:a:0", "qc-public:a:1", "qc-public:a:2", "qc-publisher"} <= set(
        plugin.clients
    )
    synced = plugin.batches
    assert provisioner.wait_settled(0)  # settled: no new sync needed
    assert plugin.batches == synced


def test_a_failed_sync_is_retried(provisioner: Provisioner, plugin: FakePlugin) -> None:
    plugin.fail = 2
    provisioner.request_sync()
    assert provisioner.wait_settled(10)
    assert plugin.fail == 0
    assert "qc-publisher" in plugin.clients


def test_a_second_sync_sends_nothing(provisioner: Provisioner, plugin: FakePlugin) -> None:
    assert provisioner.wait_synced(5)
    assert provisioner.sync_once() == 0
