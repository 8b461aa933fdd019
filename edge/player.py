"""Announcements through pygame's mixer: chime, then speech; queued, in order, never overlapping.

Everything plays on ONE mixer channel: the running sound plus at most one queued behind it
(``Channel.queue``), topped up by :meth:`AnnouncementPlayer.pump`, which the main loop calls on
every wake-up. One channel makes overlap impossible by construction. The chime starts the moment
an announcement is enqueued on an idle channel; speech is synthesised only while the chime
plays, so the time to sound never includes espeak-ng.

Without an audio device the player logs once and stays silent: a screen never dies for sound.
"""

from __future__ import annotations

import io
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from edge.inputs import Announce
from edge.pg import pygame
from edge.sound import chime_pcm, silence_pcm
from edge.speech import Speech
from edge.texts import call_speech, texts_for

log = logging.getLogger(__name__)

MIXER_RATE = 22050  # speech is 22.05 kHz mono; the chime needs no more
MIXER_CHANNELS = 1
MIXER_BUFFER = 512  # samples: ~23 ms of output latency at 22.05 kHz
_AFTER_CHIME_S = 0.25
_AFTER_SPEECH_S = 0.6  # a pause between two announcements
_SPEECH_CACHE = 32


@dataclass(frozen=True, slots=True)
class _Part:
    kind: str  # "chime" | "speech"
    announce: Announce


class AnnouncementPlayer:
    def __init__(
        self,
        *,
        speech: Speech | None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self._speech = speech
        self._on_start = on_start
        self._pending: deque[_Part] = deque()
        self._channel: pygame.mixer.Channel | None = None
        self._chime: pygame.mixer.Sound | None = None
        self._speech_cache: OrderedDict[tuple[str, str], pygame.mixer.Sound] = OrderedDict()
        self._rate, self._channels = MIXER_RATE, MIXER_CHANNELS

    def open(self) -> bool:
        """Open the audio device; ``False`` (and silence) if there is none."""
        try:
            pygame.mixer.init(
                frequency=MIXER_RATE, size=-16, channels=MIXER_CHANNELS, buffer=MIXER_BUFFER
            )
            init = pygame.mixer.get_init()
            if init is None:
                raise pygame.error("mixer did not start")
            self._rate, size, self._channels = init
            if size != -16:
                raise pygame.error(f"unsupported sample format {size}")
        except pygame.error as exc:
            log.warning("no audio output (%s): calls will be shown but not heard", exc)
            return False
        self._chime = self._sound(
            chime_pcm(self._rate, self._channels)
            + silence_pcm(self._rate, _AFTER_CHIME_S, self._channels)
        )
        self._channel = pygame.mixer.Channel(0)
        pygame.mixer.set_reserved(1)  # nothing else may take our channel
        return True

    def close(self) -> None:
        if self._channel is not None:
            self._channel.stop()
            self._channel = None
        if pygame.mixer.get_init():
            pygame.mixer.quit()

    @property
    def busy(self) -> bool:
        return bool(self._pending) or (self._channel is not None and self._channel.get_busy())

    def enqueue(self, announce: Announce) -> None:
        if self._channel is None:
            return
        self._pending.append(_Part("chime", announce))
        if self._speech is not None and self._speech.available:
            self._pending.append(_Part("speech", announce))
        self.pump()

    def pump(self) -> None:
        """Keep the channel fed: play at once when idle, else queue the next part behind."""
        channel = self._channel
        if channel is None or not self._pending:
            return
        if channel.get_busy() and channel.get_queue() is not None:
            return
        part = self._pending.popleft()
        sound = self._sound_for(part)
        if sound is None:
            self.pump()
            return
        if channel.get_busy():
            channel.queue(sound)
        else:
            channel.play(sound)
        if part.kind == "chime" and self._on_start is not None:
            self._on_start(part.announce.call_id)

    def _sound_for(self, part: _Part) -> pygame.mixer.Sound | None:
        if part.kind == "chime":
            return self._chime
        texts = texts_for(part.announce.locale)
        announce = part.announce
        text = call_speech(texts, announce.number, announce.counter, announce.counter_name)
        key = (texts.espeak_voice, text)
        cached = self._speech_cache.get(key)
        if cached is not None:
            self._speech_cache.move_to_end(key)
            return cached
        assert self._speech is not None  # speech parts are only queued with a synthesiser
        wav = self._speech.wav(text, texts.espeak_voice)
        if wav is None:
            return None
        try:
            # Loading through the mixer converts espeak's format to the mixer's.
            spoken = pygame.mixer.Sound(file=io.BytesIO(wav)).get_raw()
        except pygame.error as exc:
            log.warning("could not load speech: %s", exc)
            return None
        sound = self._sound(spoken + silence_pcm(self._rate, _AFTER_SPEECH_S, self._channels))
        self._speech_cache[key] = sound
        if len(self._speech_cache) > _SPEECH_CACHE:
            self._speech_cache.popitem(last=False)
        return sound

    @staticmethod
    def _sound(pcm: bytes) -> pygame.mixer.Sound:
        return pygame.mixer.Sound(buffer=pcm)
