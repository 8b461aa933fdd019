"""`make bench`: every benchmark, one after another, each printing its own table and writing its
raw results under bench/results/ (gitignored). Copy the tables into docs/benchmarks.md with the
date, the machine and the command."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ["bench.http_api"],
    ["bench.queue_length"],
    ["bench.call_latency"],
    ["bench.broker_fanout"],
    ["bench.broker_connections"],
    ["bench.agent_footprint"],
]


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n=== python -m {' '.join(module)} ===", flush=True)
        if subprocess.call([sys.executable, "-m", *module]) != 0:
            failed.append(module[0])
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
