"""Reading what an agent played, from SDL's disk-audio file (raw signed 16-bit mono at the
mixer rate). Our chime and espeak-ng's speech are deterministic, and one mixer channel at full
volume copies samples unchanged, so each announcement appears in the file byte for byte: its
position proves order, and an exact match proves nothing else was mixed over it."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from array import array
from pathlib import Path

import pytest

from edge.player import MIXER_RATE
from edge.sound import chime_pcm
from edge.texts import call_speech, texts_for

ESPEAK = shutil.which("espeak-ng")
requires_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="Debian package espeak-ng is not installed (make system-deps)"
)
_PROBE = 4096  # bytes (~93 ms) taken from the middle of a known sound to look for it


def disk_audio_env(monkeypatch: pytest.MonkeyPatch, path: Path) -> Path:
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(path))
    return path


def peak(pcm: bytes) -> int:
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    return max((abs(s) for s in samples), default=0)


def positions(haystack: bytes, sound: bytes) -> list[int]:
    """Byte offsets where ``sound`` starts in ``haystack``, found by a probe from its loudest
    part (a probe from a pause between words would be silence, found everywhere)."""
    middle = _loudest(sound)
    probe = sound[middle : middle + _PROBE]
    found, start = [], 0
    while (hit := haystack.find(probe, start)) != -1:
        if hit % 2 == 0:  # sample-aligned only
            found.append(hit - middle)
        start = hit + 2
    return found


def _loudest(sound: bytes) -> int:
    """Sample-aligned offset of the ``_PROBE``-byte window of ``sound`` with the most energy."""
    step = _PROBE // 2
    starts = range(0, max(1, len(sound) - _PROBE), step)

    def energy(start: int) -> int:
        samples = array("h", sound[start : start + _PROBE])
        return sum(abs(x) for x in samples)

    return max(starts, key=energy)


def chime() -> bytes:
    return chime_pcm(MIXER_RATE)


def speech(number: str, counter: int, name: str = "", locale: str = "pt-BR") -> bytes:
    """What espeak-ng says for this call (``name``: the counter's), rendered independently of
    the agent."""
    assert ESPEAK is not None
    texts = texts_for(locale)
    text = call_speech(texts, number, counter, name)
    wav = subprocess.run(
        [ESPEAK, "-v", texts.espeak_voice, "-s", "140", "--stdin", "--stdout"],
        input=text.encode(),
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (MIXER_RATE, 1, 2)
        return bytes(w.readframes(w.getnframes()))
