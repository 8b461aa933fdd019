"""``python -m display_agent --api URL --tenant T --device-token TOKEN [--services A,P]
[--counters 1,2] [--fullscreen] [--locale pt-BR]`` (``--help`` lists every option)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from display_agent.app import DisplayProgram
from display_agent.settings import DisplaySettings
from edge.pairing import pair_if_asked
from edge.runtime import run_agent
from edge.settings import load_settings


def main(argv: Sequence[str] | None = None) -> int:
    settings = load_settings(
        DisplaySettings,
        argv,
        prog="python -m display_agent",
        description="QueueCast public call display: current call, last calls, chime and speech.",
    )
    pair_if_asked(settings)  # --pair CODE: the device token, once
    return run_agent(DisplayProgram(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
