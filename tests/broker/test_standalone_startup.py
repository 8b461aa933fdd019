"""``python -m broker`` listens before it loads the database layer (the CI flake where the
separate broker was not listening after 15 s: on a fresh install, importing SQLAlchemy and the
API's store for the first time was most of its start-up), and still honours revocations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from protocol import Role
from tests.broker.harness import token
from tests.broker.raw_mqtt import RawClient, connect_packet
from tests.broker.standalone import standalone_broker

ROOT = Path(__file__).resolve().parents[2]

_BEFORE_LISTENING = """
import sys
from broker.__main__ import DatabaseTokenCheck, standalone_settings
from broker.embedded import EmbeddedBroker
from config import Settings
settings = standalone_settings(Settings(_env_file=None, env="dev"))
EmbeddedBroker(settings, token_active=DatabaseTokenCheck(settings))
loaded = sorted(m for m in sys.modules if m.startswith(("sqlalchemy", "publisher_api")))
print(",".join(loaded))
"""


def test_the_listening_path_does_not_import_the_database_layer() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BEFORE_LISTENING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "", result.stdout


def test_a_device_unknown_to_the_database_is_still_refused(tmp_path: Path) -> None:
    """The check is loaded lazily, not skipped: the database has no such device (fail closed),
    while a public token, which has nothing to revoke, connects."""
    with standalone_broker(tmp_path) as running:
        public = RawClient(running.host, running.port)
        public.connect(token(Role.PUBLIC, "a", "public"), "public-1")
        public.close()
        device = RawClient(running.host, running.port)
        device.send(connect_packet("totem", token(Role.TOTEM, "a", "totem-1")))
        connack = device.read()
        device.close()
        assert connack.body[1] == 5  # not authorised
