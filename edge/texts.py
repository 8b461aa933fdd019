"""Every user-facing word of both agents, in pt-BR, English and Spanish.

The words live in one catalogue, ``protocol/texts.json``, which the browser pages load too
(``publisher_api/web/js/i18n.js`` imports it from ``/web/texts.json``): a state or a service has
one name on every screen. :class:`Texts` gives the agents that catalogue as named attributes.

Screens pick a table with :func:`texts_for` (the ``--locale`` option, else the tenant's locale
from the snapshot); speech uses :func:`call_speech`, which spells the ticket number so a synthetic
voice reads "A, 0 2 3" rather than "a twenty-three".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

DEFAULT_LOCALE = "pt-BR"
LANGUAGES = ("pt-BR", "en", "es")
# espeak-ng's voice per language: not a text, so not in the shared catalogue.
_VOICES = {"pt-BR": "pt-br", "en": "en-us", "es": "es-419"}

# Each attribute of Texts and the catalogue key it reads.
_KEYS = {
    "ticket": "ticket",
    "counter": "counter",
    "live": "conn.live",
    "polling": "conn.polling",
    "reconnecting": "conn.reconnecting",
    "now_calling": "display.current",
    "last_calls": "display.history",
    "waiting_for_calls": "display.none",
    "welcome": "totem.welcome",
    "choose_service": "totem.choose",
    "waiting_count": "display.waiting",
    "choose_priority": "totem.priority.title",
    "normal": "totem.priority.no",
    "priority": "totem.priority.yes",
    "priority_hint": "totem.priority.help",
    "back": "totem.back",
    "issuing": "totem.issuing",
    "your_ticket": "totem.your",
    "position": "ticket.position",
    "next_in_line": "ticket.next",
    "estimated_wait": "ticket.wait",
    "served_at": "ticket.served_at",
    "follow_on_phone": "totem.scan",
    "touch_to_finish": "totem.touch_to_finish",
    "please_go_to": "call.go_to",
    "issue_failed": "totem.issue_failed",
    "server_unreachable": "error.network",
    "no_services": "totem.no_services",
    "ticket_status_ended": "follow.ended",
}


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    """``protocol/texts.json``: language -> key -> text, exactly what the pages load."""
    raw: Any = json.loads(
        resources.files("protocol").joinpath("texts.json").read_text(encoding="utf-8")
    )
    if not isinstance(raw, dict) or sorted(raw) != sorted(LANGUAGES):
        raise ValueError(f"protocol/texts.json must hold exactly {LANGUAGES}")
    tables: dict[str, Mapping[str, str]] = {}
    for lang, table in raw.items():
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in table.items()
        ):
            raise ValueError(f"protocol/texts.json: {lang} must map keys to strings")
        tables[lang] = MappingProxyType(table)
    return MappingProxyType(tables)


@dataclass(frozen=True, slots=True)
class Texts:
    locale: str
    espeak_voice: str
    ticket: str  # "Senha": the word for a ticket number
    counter: str  # "Guichê"
    # connection indicator
    live: str
    polling: str
    reconnecting: str
    # display
    now_calling: str
    last_calls: str
    waiting_for_calls: str
    # totem
    welcome: str
    choose_service: str
    waiting_count: str  # "{count} waiting"
    choose_priority: str
    normal: str
    priority: str
    priority_hint: str
    back: str
    issuing: str
    your_ticket: str
    position: str  # "Position in line: {n}"
    next_in_line: str
    estimated_wait: str  # "Estimated wait: {text}"
    served_at: str  # "Served at: {places}" (counter names, on the printed ticket)
    follow_on_phone: str
    touch_to_finish: str
    please_go_to: str
    issue_failed: str
    server_unreachable: str
    no_services: str
    ticket_status_ended: str
    table: Mapping[str, str] = field(repr=False, compare=False, hash=False)

    def t(self, key: str, /, **values: object) -> str:
        """The text of any catalogue key with its ``{name}`` placeholders filled, like the
        pages' ``i18n.t``: a key this language misses reads in English, else as the key."""
        text = self.table.get(key)
        if text is None:
            text = catalogue()["en"].get(key, key)
        return text.format_map(_Blank(values))

    def counter_label(self, counter: int) -> str:
        return self.t("counter.n", counter=counter)

    def place(self, counter: int | None, name: str | None = None) -> str:
        """A counter as people know it: its name ("Sala de Coleta 4"), else "Guichê 3"."""
        if name and name.strip():
            return name.strip()
        return "" if counter is None else self.counter_label(counter)

    def minutes(self, seconds: float | None) -> str:
        """A rounded wait the way the pages say it ("~12 min", "menos de 1 min", "~1 h 5 min"),
        never a false promise of "0 min"; a dash when unknown."""
        if seconds is None or not math.isfinite(seconds) or seconds < 0:
            return self.t("wait.unknown")
        if seconds < 60:
            return self.t("wait.less")
        minutes = math.floor(seconds / 60 + 0.5)  # JavaScript's Math.round, as the pages
        if minutes < 60:
            return self.t("wait.min", minutes=minutes)
        return self.t("wait.hours", hours=minutes // 60, minutes=minutes % 60)


class _Blank(dict[str, object]):
    """Placeholders nobody filled read as nothing, as in the pages."""

    def __missing__(self, key: str) -> str:
        return ""


@cache
def _texts(lang: str) -> Texts:
    table = catalogue()[lang]
    missing = [key for key in _KEYS.values() if key not in table]
    if missing:
        raise ValueError(f"protocol/texts.json: {lang} misses {missing}")
    words = {attribute: table[key] for attribute, key in _KEYS.items()}
    return Texts(locale=lang, espeak_voice=_VOICES[lang], table=table, **words)


def texts_for(*preferences: str | None) -> Texts:
    """The first supported language among ``preferences`` (``pt-BR``, ``pt_br``, ``en-US``,
    ``es``…), else pt-BR. Only the language part decides: every Portuguese is pt-BR here."""
    for tag in preferences:
        if tag:
            base = tag.replace("_", "-").split("-")[0].lower()
            for lang in LANGUAGES:
                if lang.lower().split("-")[0] == base:
                    return _texts(lang)
    return _texts(DEFAULT_LOCALE)


def spell_number(number: str) -> str:
    """``A023`` -> ``A, 0 2 3``: the prefix letter by letter, then digit by digit."""
    letters = " ".join(c for c in number if not c.isdigit())
    digits = " ".join(c for c in number if c.isdigit())
    return f"{letters}, {digits}" if letters and digits else letters or digits


def call_speech(texts: Texts, number: str, counter: int, counter_name: str = "") -> str:
    """What the voice says for one call, as the pages say it: the counter's name when it has
    one (``Senha A, 0 2 3. Sala de Coleta 4.``), else ``Senha A, 0 2 3. Guichê 3.``"""
    return texts.t(
        "spoken.call", code=spell_number(number), place=texts.place(counter, counter_name)
    )
