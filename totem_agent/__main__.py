"""``python -m totem_agent --api URL --tenant T --device-token TOKEN [--fullscreen]
[--locale pt-BR] [--printer file:/dev/usb/lp0]`` (``--help`` lists every option)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from edge.pairing import pair_if_asked
from edge.runtime import run_agent
from edge.settings import load_settings
from totem_agent.app import TotemProgram
from totem_agent.settings import TotemSettings


def main(argv: Sequence[str] | None = None) -> int:
    settings = load_settings(
        TotemSettings,
        argv,
        prog="python -m totem_agent",
        description="QueueCast kiosk: take a ticket, follow it, be called.",
    )
    pair_if_asked(settings)  # --pair CODE: the device token, once
    return run_agent(TotemProgram(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
