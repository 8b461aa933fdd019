"""Offline speech through espeak-ng (Debian package ``espeak-ng``), as WAV bytes.

The text goes through stdin, never the command line: it contains data from the server (ticket
numbers), and an argument starting with ``-`` must never become an option.
"""

from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger(__name__)

_WORDS_PER_MINUTE = 140  # a little slower than espeak's 175: announcements must be understood
_MAX_TEXT = 200


class Speech:
    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("espeak-ng")
        if self.executable is None:
            log.warning("espeak-ng not found: calls will be announced with the chime only")

    @property
    def available(self) -> bool:
        return self.executable is not None

    def wav(self, text: str, voice: str) -> bytes | None:
        """The spoken text as a WAV file's bytes, or ``None`` if espeak-ng failed."""
        if self.executable is None:
            return None
        clean = "".join(c for c in text if c.isprintable())[:_MAX_TEXT]
        try:
            result = subprocess.run(  # noqa: S603 - fixed executable, text via stdin
                [self.executable, "-v", voice, "-s", str(_WORDS_PER_MINUTE), "--stdin", "--stdout"],
                input=clean.encode(),
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("espeak-ng failed: %s", exc)
            return None
        if result.returncode != 0 or not result.stdout.startswith(b"RIFF"):
            log.warning("espeak-ng failed (%s): %s", result.returncode, result.stderr[:200])
            return None
        return result.stdout
