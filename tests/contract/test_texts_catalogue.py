"""One catalogue of user-facing texts (protocol/texts.json) for the pages and the pygame agents:
complete in pt-BR, English and Spanish, and read the same by Python (edge/texts.py) and by the
pages' JavaScript (i18n.js, run in node as the browser runs it)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.texts import _KEYS, LANGUAGES, catalogue, texts_for

CATALOGUE_FILE = Path(__file__).resolve().parents[2] / "protocol" / "texts.json"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _placeholders(text: str) -> dict[str, str]:
    return {name: f"<{name}>" for name in _PLACEHOLDER.findall(text)}


@pytest.fixture(scope="module")
def javascript(run_js: Callable[..., Any]) -> Any:
    return run_js("texts")


def test_every_key_exists_in_every_language_with_the_same_placeholders() -> None:
    raw = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    assert list(raw) == list(LANGUAGES)
    keys = set(raw["pt-BR"])
    for lang in LANGUAGES:
        assert set(raw[lang]) == keys, f"{lang}: {set(raw[lang]) ^ keys}"
        for key, text in raw[lang].items():
            assert text.strip(), f"{lang} {key} is empty"
            assert set(_PLACEHOLDER.findall(text)) == set(
                _PLACEHOLDER.findall(raw["pt-BR"][key])
            ), f"{lang} {key}: other placeholders than pt-BR"


def test_python_and_javascript_see_the_same_catalogue(javascript: Any) -> None:
    assert javascript["languages"] == list(LANGUAGES)
    for lang in LANGUAGES:
        table = catalogue()[lang]
        texts = texts_for(lang)
        assert javascript["keys"][lang] == list(table)
        python = {key: texts.t(key, **_placeholders(text)) for key, text in table.items()}
        assert javascript["texts"][lang] == python


def test_the_agents_words_are_the_pages_words() -> None:
    for lang in LANGUAGES:
        texts = texts_for(lang)
        for attribute, key in _KEYS.items():
            assert getattr(texts, attribute) == catalogue()[lang][key]
    # The two disagreements the issue found, settled once for every screen.
    pt = texts_for("pt-BR")
    assert pt.polling == "Atualização periódica"
    assert (pt.choose_priority, pt.priority) == ("Atendimento prioritário?", "Prioritário")
    assert texts_for("es").priority == "Preferencial"
