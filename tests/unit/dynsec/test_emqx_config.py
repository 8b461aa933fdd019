"""``python -m publisher_api.dynsec emqx-config``: the EMQX configuration that checks our tokens.
(Its effect in a real EMQX is not tested here: EMQX cannot be installed on this machine.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest

from config import get_settings
from protocol import Role, issue_token
from publisher_api.dynsec.__main__ import main

SECRET = "emqx-config-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("QUEUECAST_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()  # no later test may see these settings


def generated(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["emqx-config", *args]) == 0
    return capsys.readouterr().out


def test_the_secret_stays_out_of_the_file_unless_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    default = generated(capsys)
    assert SECRET not in default
    assert "secret = ${QUEUECAST_SECRET_KEY}" in default
    assert f'secret = "{SECRET}"' in generated(capsys, "--inline-secret")


def test_tokens_are_checked_by_signature_issuer_and_their_acl_claim_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = generated(capsys)
    for line in (
        "mechanism = jwt",
        "from = password",
        'algorithm = "hmac-based"',
        'acl_claim_name = "acl"',
        'verify_claims { iss = "queuecast" }',
        "disconnect_after_expire = true",
        "sources = []",
        "no_match = deny",
    ):
        assert line in text
    token, _ = issue_token(
        secret=SECRET, subject="public", role=Role.PUBLIC, tenant="a", ttl=timedelta(minutes=5)
    )
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])  # what EMQX's hmac-based check does
    assert claims["iss"] == "queuecast"
    assert isinstance(claims["acl"], list)
    assert claims["acl"]


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["nope"])
    assert exit_.value.code == 2
    assert "emqx-config" in capsys.readouterr().err
