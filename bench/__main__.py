"""`make bench` / ``python -m bench [NAME ...]``: the benchmarks, one after another, each printing
its own table and writing its raw results under bench/results/ (gitignored). Copy the tables into
docs/benchmarks.md with the date, the machine, the load average and the command.

``python -m bench --help`` lists them; ``python -m bench http_api call_latency`` runs those two;
``python -m bench.<name> --help`` gives one benchmark's own options."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence

BENCHMARKS = {
    "http_api": "REST throughput and latency (issue + call-next), server CPU per operation",
    "call_latency": "operator call -> screen (HTTP to MQTT delivery), our broker and Mosquitto",
    "broker_fanout": "one publish to N subscribers: delivery latency, our broker and Mosquitto",
    "queue_length": "cost per change at 10, 1,000 and 5,000 waiting: write latency and bytes",
    "broker_connections": "idle connections held: memory and CPU per connection",
    "broker_storm": "thousands of screens reconnect at once (TCP and /mqtt): ours and Mosquitto",
    "broker_flood": "one client floods QoS 0/1 while others carry normal traffic; and Mosquitto",
    "agent_footprint": "the pygame agents' idle CPU and memory",
    "abuse": "call -> screen while a login flood, a slowloris or huge bodies hit the API",
    "replicas": "write throughput with 1, 2 and 3 API replicas on PostgreSQL behind nginx",
    "cluster_latency": "call -> screen through nginx, replicas on PostgreSQL, dynsec Mosquitto",
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run QueueCast's benchmarks (all of them, or the ones named).",
        epilog="benchmarks:\n"
        + "\n".join(f"  {name:<20} {what}" for name, what in BENCHMARKS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="default: all")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (see --help)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    names = parse(argv).names or list(BENCHMARKS)
    failed = []
    for name in names:
        print(f"\n=== python -m bench.{name} ===", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
