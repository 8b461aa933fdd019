"""The verified-token memory never outlives a token and never accepts a forged one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol import InvalidToken, Role, issue_token
from publisher_api.auth import TokenVerifier

SECRET = "s" * 40


def token(ttl: timedelta, now: datetime | None = None) -> str:
    value, _ = issue_token(
        secret=SECRET, subject="op", role=Role.OPERATOR, tenant="t", ttl=ttl, now=now
    )
    return value


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    verifier = TokenVerifier(SECRET)
    fresh = token(timedelta(hours=1))
    assert verifier.verify(fresh).subject == "op"
    assert verifier.verify(fresh).subject == "op"
    # Expired beyond the leeway: refused even though an old entry could be in memory.
    stale = token(timedelta(seconds=1), now=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(stale)


def test_forged_tokens_are_refused_and_memory_is_bounded() -> None:
    verifier = TokenVerifier(SECRET, max_entries=2)
    forged, _ = issue_token(
        secret="x" * 40, subject="op", role=Role.OPERATOR, tenant="t", ttl=timedelta(hours=1)
    )
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
    tokens = [token(timedelta(hours=h)) for h in (1, 2, 3)]
    for value in tokens:
        verifier.verify(value)
    assert len(verifier._verified) == 2
