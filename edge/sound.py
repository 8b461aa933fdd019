"""Sounds synthesised by our own code: the call chime and silence, as raw PCM.

Pure functions (no pygame): signed 16-bit little-endian samples, interleaved when stereo, at
whatever rate the mixer actually opened. The chime is a two-note "ding-dong" (E5 then C5) made
of a few bell-like partials with an exponential decay; loud enough to cut through a waiting
room, with no click at the start (5 ms attack) or the end (it decays to silence).
"""

from __future__ import annotations

import math
from array import array

_NOTES = ((659.26, 0.0), (523.25, 0.42))  # (frequency Hz, start s): E5, then C5
_PARTIALS = ((1.0, 1.0), (2.0, 0.45), (3.0, 0.2), (4.16, 0.08))  # (ratio, weight): bell timbre
_NOTE_LENGTH_S = 1.1
_DECAY_PER_S = 4.2
_ATTACK_S = 0.005
_PEAK = 0.55 * 32767  # headroom: the two notes overlap


def chime_pcm(rate: int, channels: int = 1) -> bytes:
    """The chime, ~1.5 s."""
    total = int(rate * (_NOTES[-1][1] + _NOTE_LENGTH_S))
    mix = [0.0] * total
    weight_sum = sum(w for _, w in _PARTIALS)
    for frequency, start_s in _NOTES:
        first = int(start_s * rate)
        for n in range(int(_NOTE_LENGTH_S * rate)):
            t = n / rate
            envelope = min(1.0, t / _ATTACK_S) * math.exp(-_DECAY_PER_S * t)
            sample = sum(
                w * math.sin(2 * math.pi * frequency * ratio * t) for ratio, w in _PARTIALS
            )
            mix[first + n] += envelope * sample / weight_sum
    peak = max(abs(s) for s in mix) or 1.0
    samples = array("h", (round(s / peak * _PEAK) for s in mix))
    return _interleave(samples, channels)


def silence_pcm(rate: int, seconds: float, channels: int = 1) -> bytes:
    return bytes(2 * channels * int(rate * seconds))


def _interleave(samples: array[int], channels: int) -> bytes:
    if channels == 1:
        return samples.tobytes()
    out = array("h", bytes(2 * channels * len(samples)))
    for c in range(channels):
        out[c::channels] = samples
    return out.tobytes()
