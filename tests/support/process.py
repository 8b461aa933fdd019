"""Stopping a server process a test started."""

from __future__ import annotations

import signal
import subprocess


def terminate(process: subprocess.Popen[bytes], timeout: float, sig: int = signal.SIGTERM) -> None:
    """``sig`` (default SIGTERM) for a clean stop, then SIGKILL if it has not exited within
    ``timeout`` seconds; returns once the process is gone."""
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
