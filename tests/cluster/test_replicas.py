"""The replicated deployment as ``make run-cluster`` starts it (``deploy/cluster/run.py``): a real
PostgreSQL, Mosquitto, 3 API replicas (``python -m publisher_api``) and nginx in front, on free
ports. Operators racing call-next on every replica (directly, and through nginx) never get the
same ticket and numbering stays gap-free; ``kill -9`` of the outbox relay's leader during load
hands publishing to another replica, and a subscriber (over WebSocket, through nginx) sees the
retained queue document's ``seq`` only grow and end at the database's; ``kill -9`` of the replica
nginx sends the tenant to leaves its clients served by the others."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from protocol import QueueUpdate, decode
from protocol.topics import queue_topic
from tests.support.mqtt import Recorder
from tests.support.ports import free_port
from tests.support.postgres import BIN as POSTGRES_BIN
from tests.support.process import terminate
from tests.support.race import Racer, race_call_next

ROOT = Path(__file__).resolve().parents[2]
TENANT = "default"
COUNTERS = (1, 2, 3)
OPERATORS = 6
# 300 tickets: each of the 6 racers still makes ~50 calls against its counter's other racer on
# another replica, and every replica serves two racers; 1,000 proved the same in 3x the time.
CALLS = 300
# Rounds (issue + call-next) of load before the kill and again under the new leader: the leader
# is killed mid-load and the successor must publish what came after (was 3 s of sleep each).
LOAD_ROUNDS = 20

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(POSTGRES_BIN is None, reason="Debian package postgresql is not installed"),
    pytest.mark.skipif(
        not Path("/usr/sbin/nginx").exists(), reason="Debian package nginx-light is not installed"
    ),
    pytest.mark.skipif(
        not Path("/usr/sbin/mosquitto").exists(), reason="Debian package mosquitto is not installed"
    ),
]


@dataclass
class Cluster:
    base_url: str
    ws_port: int
    pg_dsn: str
    state: dict[str, Any]
    http: httpx.Client = field(init=False)
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def login(self, username: str, password: str | None = None) -> dict[str, str]:
        if username not in self.tokens:
            r = self.http.post(
                "/api/v1/auth/token", data={"username": username, "password": password or username}
            )
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.pg_dsn, autocommit=True) as connection:
            return list(connection.execute(query, args).fetchall())

    def replica_pids(self) -> list[int]:
        return [int(r["pid"]) for r in self.state["replicas"]]

    def leader_pid(self) -> int | None:
        """The replica whose relay holds the advisory lock (its session is named after it)."""
        rows = self.sql(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted"
        )
        names = [str(name) for (name,) in rows if str(name).startswith("queuecast-relay ")]
        return int(names[0].split()[-1]) if names else None

    def tenant_seq(self) -> int:
        return int(self.sql("SELECT seq FROM tenants WHERE id = %s", TENANT)[0][0])


def _alive(pid: int) -> bool:
    """Running (a killed replica stays a zombie until the runner reaps it at the end)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp tree: as root the cluster's files belong to the postgres user,
    # which must reach them.
    with tempfile.TemporaryDirectory(prefix="queuecast-cluster-") as workdir:
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres")
        var = Path(workdir) / "var"
        ports = {name: free_port() for name in ("http", "mqtt", "ws", "pg")}
        base = free_port()
        argv = [
            sys.executable,
            str(ROOT / "deploy" / "cluster" / "run.py"),
            "--var", str(var),
            "--http-port", str(ports["http"]),
            "--replica-base-port", str(base),
            "--mqtt-port", str(ports["mqtt"]),
            "--mqtt-ws-port", str(ports["ws"]),
            "--pg-port", str(ports["pg"]),
        ]  # fmt: skip
        env = {**os.environ, "QUEUECAST_LOG_LEVEL": "INFO", "QUEUECAST_OUTBOX_POLL_S": "0.5"}
        output = (Path(workdir) / "run.log").open("wb")
        runner = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            state_file = var / "cluster.json"
            while not state_file.exists():
                if runner.poll() is not None or time.monotonic() > deadline:
                    logs = "\n".join(
                        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                        for p in [Path(workdir) / "run.log", *sorted(var.glob("*.log"))]
                    )
                    raise RuntimeError(f"the cluster did not start:\n{logs}")
                time.sleep(0.2)
            running = Cluster(
                base_url=f"http://127.0.0.1:{ports['http']}",
                ws_port=ports["http"],
                pg_dsn=f"postgresql://queuecast@127.0.0.1:{ports['pg']}/queuecast",
                state=json.loads(state_file.read_text()),
            )
            yield running
            running.http.close()
        finally:
            terminate(runner, 60)
            output.close()


def wait_until(condition: Callable[[], bool], timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def issue(cluster: Cluster, client: httpx.Client, service: str = "A") -> dict[str, Any]:
    """Issue a ticket, retrying with the same Idempotency-Key if a replica died under it."""
    key = uuid.uuid4().hex
    for _ in range(20):
        with contextlib.suppress(httpx.TransportError):
            r = client.post(
                f"/api/v1/tenants/{TENANT}/tickets",
                json={"service": service},
                headers={**cluster.login("operator"), "Idempotency-Key": key},
            )
            if r.status_code == 201:
                return dict(r.json())
            assert r.status_code in (502, 503, 504), r.text
        time.sleep(0.1)
    raise AssertionError("could not issue a ticket through any replica")


def open_counters(cluster: Cluster, names: list[str]) -> dict[int, dict[str, str]]:
    admin = cluster.login("admin")
    holders: dict[int, dict[str, str]] = {}
    for counter, name in zip(COUNTERS, names, strict=False):
        body = {"username": name, "password": f"{name}-password", "role": "operator"}
        r = cluster.http.post(f"/api/v1/tenants/{TENANT}/users", json=body, headers=admin)
        assert r.status_code in (201, 409), r.text
        holders[counter] = cluster.login(name, f"{name}-password")
        r = cluster.http.post(
            f"/api/v1/tenants/{TENANT}/counters/{counter}/open",
            json={"takeover": True},
            headers=holders[counter],
        )
        assert r.status_code == 200, r.text
    return holders


def test_racing_operators_on_three_replicas_never_share_a_ticket(cluster: Cluster) -> None:
    # nginx sends a tenant's requests to one replica (affinity, for speed): to race replicas
    # against each other, clients also talk to each replica directly.
    urls = [cluster.base_url, *(f"http://127.0.0.1:{r['port']}" for r in cluster.state["replicas"])]
    issued: list[dict[str, Any]] = []
    lock = threading.Lock()

    def issuer(count: int, service: str, url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(count):
                ticket = issue(cluster, client, service)
                with lock:
                    issued.append(ticket)

    issuers = [
        threading.Thread(target=issuer, args=(CALLS // 4, "AP"[i % 2], urls[i])) for i in range(4)
    ]
    for thread in issuers:
        thread.start()
    for thread in issuers:
        thread.join()
    assert len(issued) == CALLS

    holders = open_counters(cluster, [f"racer-{c}" for c in COUNTERS])
    # Two operators per counter, each at a different replica (the counter's two racers always
    # on different replicas: racer i holds counter i % 3 at replica (i + i // 3) % 3; it was
    # i % 3 for both, which put a counter's two racers on the same replica).
    counter_of = [COUNTERS[i % len(COUNTERS)] for i in range(OPERATORS)]
    racers = [
        Racer(urls[1 + (i + i // 3) % 3], counter, holders[counter])
        for i, counter in enumerate(counter_of)
    ]
    race = race_call_next(TENANT, racers, timeout_s=600)
    assert race.errors == []
    assert [t for t, n in Counter(race.called).items() if n > 1] == []  # no ticket called twice
    assert sorted(race.called) == sorted(t["id"] for t in issued)  # every ticket called, once
    # Numbering unique and gap-free per service and day, whichever replica issued.
    for service, day, numbers, distinct, low, high in cluster.sql(
        "SELECT service, (created_at AT TIME ZONE 'UTC')::date, count(*), count(DISTINCT number),"
        " min(number), max(number) FROM tickets WHERE tenant_id = %s GROUP BY 1, 2",
        TENANT,
    ):
        assert numbers == distinct == high - low + 1, (service, day)
    # Every replica made some of the calls (each counts its own, in its own metrics).
    per_replica = [called_by(cluster, replica["port"]) for replica in cluster.state["replicas"]]
    assert all(n > 0 for n in per_replica), per_replica
    assert sum(per_replica) >= CALLS


def called_by(cluster: Cluster, port: int) -> float:
    return _counted(cluster, port, "queuecast_tickets_called_total")


def issued_by(cluster: Cluster, port: int) -> float:
    return _counted(cluster, port, "queuecast_tickets_issued_total")


def _counted(cluster: Cluster, port: int, metric: str) -> float:
    text = httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers=cluster.login("root"), timeout=10
    ).text
    prefix = f'{metric}{{tenant="{TENANT}"}} '
    return sum(float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix))


def test_kill_9_of_the_relay_leader_during_load_loses_no_published_state(
    cluster: Cluster,
) -> None:
    credentials = cluster.http.get(f"/api/v1/tenants/{TENANT}/mqtt-credentials").json()
    subscriber = Recorder(
        "127.0.0.1",
        cluster.ws_port,  # MQTT over WebSocket through nginx, as the pages connect
        username=credentials["username"],
        password=credentials["password"],
        transport="websockets",
    ).connect()
    seqs: list[int] = []

    def queue_seqs() -> list[int]:
        return [
            message.seq
            for received in subscriber.seen
            if received.topic == queue_topic(TENANT) and received.payload
            if isinstance(message := decode(received.payload), QueueUpdate)
        ]

    try:
        assert subscriber.subscribe(queue_topic(TENANT)) == [1]
        leader = None
        deadline = time.monotonic() + 30
        while leader is None and time.monotonic() < deadline:
            leader = cluster.leader_pid()
            time.sleep(0.1)
        assert leader in cluster.replica_pids()

        stop = threading.Event()
        failures: list[int] = []
        rounds: list[None] = []

        def load() -> None:
            with httpx.Client(base_url=cluster.base_url, timeout=30) as client:
                while not stop.is_set():
                    issue(cluster, client)
                    rounds.append(None)
                    with contextlib.suppress(httpx.TransportError):
                        r = client.post(
                            f"/api/v1/tenants/{TENANT}/counters/1/call-next?close=completed",
                            headers=cluster.login("racer-1", "racer-1-password"),
                        )
                        if r.status_code not in (200, 204):
                            failures.append(r.status_code)

        open_counters(cluster, ["racer-1"])
        workers = [threading.Thread(target=load) for _ in range(3)]
        for worker in workers:
            worker.start()
        try:
            wait_until(lambda: len(rounds) >= LOAD_ROUNDS, 60, "no load before the kill")
            os.kill(leader, signal.SIGKILL)  # a replica this test's cluster started
            killed_at = time.monotonic()
            successor = None
            while successor is None or successor == leader:
                assert time.monotonic() - killed_at < 60, "no replica took the relay over"
                successor = cluster.leader_pid()
                time.sleep(0.05)
            takeover_s = time.monotonic() - killed_at
            after = len(rounds)  # load goes on under the new leader
            wait_until(lambda: len(rounds) >= after + LOAD_ROUNDS, 60, "no load after takeover")
        finally:  # a failed wait must not leave the load running
            stop.set()
            for worker in workers:
                worker.join()
        print(f"relay takeover after kill -9 of the leader: {takeover_s:.2f} s")

        final = cluster.tenant_seq()
        deadline = time.monotonic() + 60
        while (seqs := queue_seqs()) == [] or seqs[-1] != final:
            assert time.monotonic() < deadline, f"last published seq {seqs[-1:]} != {final}"
            time.sleep(0.1)
        assert seqs == sorted(seqs)  # the retained document never went back
        # The relay marks rows published after handing them over, so the subscriber may see the
        # last document a moment before its row is marked: every row is marked, eventually.
        wait_until(
            lambda: cluster.sql("SELECT count(*) FROM outbox WHERE published_at IS NULL") == [(0,)],
            30,
            "outbox rows left unpublished",
        )
        # Only requests in flight on the killed replica may have failed (502 from nginx).
        assert len(failures) <= len(workers), failures
        assert not _alive(leader)
    finally:
        subscriber.close()


def test_kill_9_of_a_replica_leaves_its_clients_served_by_the_others(cluster: Cluster) -> None:
    alive = [r for r in cluster.state["replicas"] if _alive(int(r["pid"]))]
    assert len(alive) >= 2
    # The replica nginx sends this tenant to: the one whose issue count grows.
    before = [issued_by(cluster, r["port"]) for r in alive]
    r = cluster.http.post(
        f"/api/v1/tenants/{TENANT}/tickets",
        json={"service": "A"},
        headers=cluster.login("operator"),
    )
    assert r.status_code == 201, r.text
    after = [issued_by(cluster, r["port"]) for r in alive]
    serving = [r for r, b, a in zip(alive, before, after, strict=True) if a > b]
    assert len(serving) == 1
    os.kill(int(serving[0]["pid"]), signal.SIGKILL)
    # Clients of the dead replica, not requests racing its death: nginx replays no POST it has
    # sent, and one sent on its pooled connection as the process dies is a 502 by design.
    wait_until(lambda: not _alive(int(serving[0]["pid"])), 10, "the replica outlived kill -9")
    with httpx.Client(base_url=cluster.base_url, timeout=30) as client:
        for _ in range(30):
            r = client.post(
                f"/api/v1/tenants/{TENANT}/tickets",
                json={"service": "A"},
                headers=cluster.login("operator"),
            )
            assert r.status_code == 201, r.text
            assert client.get(f"/api/v1/tenants/{TENANT}/queue").status_code == 200
