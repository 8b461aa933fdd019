"""``make run-cluster``: the replicated deployment on one box, from standard parts.

PostgreSQL (Debian's, a cluster of its own in ``VAR/pgdata``), Mosquitto (``start-mosquitto``
next to this file), N API replicas (``python -m publisher_api``, started one after the other so
that only the first migrates and seeds) and nginx in front: HTTP to the replicas, each
tenant's requests to one replica while it lives (consistent hashing on the tenant in the path;
a dead one is skipped: connection errors go to the next), and the WebSocket ``/mqtt`` to
Mosquitto's WebSocket listener, so pages keep reaching MQTT on their own origin. Ctrl-C (or
SIGTERM) stops everything in reverse order.

``VAR/cluster.json`` lists every process (pid, port, log) for tools and tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NGINX = Path("/usr/sbin/nginx")


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        sys.exit("run-cluster: PostgreSQL is not installed (Debian package postgresql)")
    return found[-1].parent


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and the server refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _wait_port(port: int, timeout: float, what: str, proc: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited during start-up (see its log)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{what} not listening on {port} after {timeout}s")


class Cluster:
    def __init__(self, args: argparse.Namespace) -> None:
        self.var: Path = args.var.resolve()
        self.args = args
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs: list[IO[bytes]] = []
        self.pg_data = self.var / "pgdata"
        self.state: dict[str, object] = {"replicas": []}

    # --- parts ------------------------------------------------------------------------------
    def start_postgres(self) -> str:
        pg = _pg_bin()
        self.var.mkdir(parents=True, exist_ok=True)
        if not (self.pg_data / "PG_VERSION").exists():
            self.pg_data.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.var, "postgres")
                shutil.chown(self.pg_data, "postgres")
            subprocess.run(
                _as_postgres([str(pg / "initdb"), "-D", str(self.pg_data), "-A", "trust",
                              "-U", "queuecast"]),
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        port = self.args.pg_port
        options = f"-p {port} -k {self.pg_data} -c listen_addresses=127.0.0.1"
        subprocess.run(
            _as_postgres([str(pg / "pg_ctl"), "-D", str(self.pg_data), "-l",
                          str(self.pg_data / "server.log"), "-o", options, "-w", "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.state["postgres"] = {"port": port, "data": str(self.pg_data)}
        subprocess.run(
            [
                str(pg / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "queuecast",
                "queuecast",
            ],
            check=False,
            capture_output=True,
        )  # fmt: skip  (exists already after the first run)
        return f"postgresql+psycopg://queuecast@127.0.0.1:{port}/queuecast"

    def stop_postgres(self) -> None:
        if "postgres" in self.state:
            subprocess.run(
                _as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast",
                              "stop"]),
                check=False, capture_output=True,
            )  # fmt: skip

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
        log = (self.var / f"{name}.log").open("ab")
        self.logs.append(log)
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append((name, proc))
        return proc.pid

    def start_mosquitto(self) -> dict[str, str]:
        broker_var = self.var / "mosquitto"
        env_file = broker_var / "mosquitto.env"
        env_file.unlink(missing_ok=True)
        script = HERE / "start-mosquitto"
        tcp, ws = self.args.mqtt_port, self.args.mqtt_ws_port
        pid = self.spawn("mosquitto", [str(script), str(broker_var), str(tcp), str(ws)])
        _wait_port(tcp, 20, "mosquitto", self.procs[-1][1])
        deadline = time.monotonic() + 10
        while not env_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        values: dict[str, str] = {}
        for line in env_file.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip('"').strip("'")
        self.state["mosquitto"] = {"pid": pid, "tcp": tcp, "ws": ws}
        return values

    def start_replicas(self, database_url: str, broker_env: dict[str, str]) -> None:
        public = f"http://127.0.0.1:{self.args.http_port}"
        for index in range(self.args.replicas):
            port = self.args.replica_base_port + index
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "QUEUECAST_ENV": os.environ.get("QUEUECAST_ENV", "dev"),
                "QUEUECAST_VAR_DIR": str(self.var / f"replica-{index + 1}"),
                "QUEUECAST_DATABASE_URL": database_url,
                "QUEUECAST_HTTP_HOST": "127.0.0.1",
                "QUEUECAST_HTTP_PORT": str(port),
                "QUEUECAST_MQTT_PUBLIC_WS_URL": public.replace("http", "ws", 1) + "/mqtt",
                **broker_env,
            }
            name = f"replica-{index + 1}"
            pid = self.spawn(name, [sys.executable, "-m", "publisher_api"], env)
            replicas = self.state["replicas"]
            assert isinstance(replicas, list)
            replicas.append({"pid": pid, "port": port, "log": str(self.var / f"{name}.log")})
            self._wait_ready(port, name)  # one at a time: the first migrates and seeds

    def _wait_ready(self, port: int, name: str, timeout: float = 60.0) -> None:
        import httpx

        proc = self.procs[-1][1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up: see {self.var}/{name}.log")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {timeout}s: see {self.var}/{name}.log")

    def start_nginx(self) -> None:
        if not NGINX.exists():
            sys.exit("run-cluster: nginx is not installed (Debian package nginx-light)")
        conf = self.var / "nginx.conf"
        temp = self.var / "nginx-temp"
        temp.mkdir(parents=True, exist_ok=True)
        replicas = self.state["replicas"]
        assert isinstance(replicas, list)
        servers = "\n".join(
            f"        server 127.0.0.1:{r['port']} max_fails=1 fail_timeout=2s;" for r in replicas
        )
        conf.write_text(
            NGINX_CONF.format(
                var=self.var,
                temp=temp,
                servers=servers,
                ws_port=self.args.mqtt_ws_port,
                port=self.args.http_port,
            )
        )
        pid = self.spawn("nginx", [str(NGINX), "-p", str(self.var), "-c", str(conf)])
        _wait_port(self.args.http_port, 20, "nginx", self.procs[-1][1])
        self.state["nginx"] = {"pid": pid, "port": self.args.http_port}

    # --- the whole --------------------------------------------------------------------------
    def run(self) -> int:
        try:
            url = self.start_postgres()
            broker_env = self.start_mosquitto()
            self.start_replicas(url, broker_env)
            self.start_nginx()
            (self.var / "cluster.json").write_text(json.dumps(self.state, indent=2))
            self.announce()
            # A replica may die (the others serve); the front and the broker may not.
            while all(p.poll() is None for n, p in self.procs if n in ("nginx", "mosquitto")):
                time.sleep(0.5)
            print("run-cluster: nginx or mosquitto exited; stopping", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            self.stop()

    def announce(self) -> None:
        first = self.state["replicas"]
        assert isinstance(first, list)
        own = f"127.0.0.1:{first[0]['port']}"
        shown = f"127.0.0.1:{self.args.http_port}"
        lines = Path(str(first[0]["log"])).read_text(errors="replace").splitlines()
        block = [line.replace(own, shown) for line in lines if line.startswith(("QueueCast", "  "))]
        print("\n".join(block))
        print(
            f"  MQTT (Mosquitto): mqtt://127.0.0.1:{self.args.mqtt_port}, "
            f"ws://{shown}/mqtt (through nginx)\n"
            f"  {len(first)} API replicas behind nginx on http://{shown}, PostgreSQL on "
            f"127.0.0.1:{self.args.pg_port}; logs in {self.var}. Ctrl-C stops everything.",
            flush=True,
        )

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.stop_postgres()
        for log in self.logs:
            log.close()


NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {var}/nginx.pid;
error_log {var}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 1m;
    # Tenant affinity: a tenant's requests go to one replica (consistent hashing: when it dies
    # only its tenants move). Correctness never depends on it (each write locks its tenant row
    # in PostgreSQL); speed does: the replica that wrote last has the tenant's state in memory
    # and batches its writes, where alternating replicas would each reload it and queue on the
    # row lock. Requests naming no tenant (sign-in, health) spread at random.
    map $uri $queuecast_tenant {{
        ~^/api/v1/tenants/(?<api_tenant>[^/]+) $api_tenant;
        ~^/t/(?<page_tenant>[^/]+) $page_tenant;
        default $request_id;
    }}
    upstream api {{
        hash $queuecast_tenant consistent;
{servers}
        keepalive 32;
    }}
    upstream mqtt_ws {{
        server 127.0.0.1:{ws_port};
    }}
    server {{
        listen 127.0.0.1:{port};
        # MQTT over WebSocket: straight to the broker, held open (keepalive is MQTT's own).
        location /mqtt {{
            proxy_pass http://mqtt_ws;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
        location / {{
            proxy_pass http://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            # A replica that refuses or drops the connection: the next one answers. A request
            # already sent is never replayed for POST (nginx's rule): no write twice.
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--http-port", type=int, default=8000, help="nginx (what clients use)")
    parser.add_argument("--replica-base-port", type=int, default=8101)
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--mqtt-ws-port", type=int, default=9001)
    parser.add_argument("--pg-port", type=int, default=5433)
    args = parser.parse_args()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    return Cluster(args).run()


if __name__ == "__main__":
    sys.exit(main())
