"""``python -m publisher_api.dynsec emqx-config [--inline-secret]``: print the EMQX configuration
that checks our tokens (docs/deploy-emqx.md)."""

from __future__ import annotations

import argparse
import sys

import config
from publisher_api.dynsec.emqx import SECRET_ENV, emqx_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m publisher_api.dynsec")
    commands = parser.add_subparsers(dest="command", required=True)
    emqx = commands.add_parser("emqx-config", help="HOCON for EMQX's JWT authentication")
    emqx.add_argument(
        "--inline-secret",
        action="store_true",
        help=f"write the signing key ({SECRET_ENV}) into the output instead of referring to "
        "the environment variable of the same name (keep such a file owner-only)",
    )
    args = parser.parse_args(argv)
    secret = config.get_settings().secret_key.get_secret_value() if args.inline_secret else None
    sys.stdout.write(emqx_config(secret=secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())
