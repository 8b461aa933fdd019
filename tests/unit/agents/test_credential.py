"""The device credential: when renewal is due, and which renewed tokens it adopts."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.credential import RENEW_WHEN_LEFT, DeviceCredential
from protocol import Role, issue_token

SECRET = "unit-test-secret-0123456789abcdef0123"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def token(*, days: float, subject: str = "tv-1", jti: str = "jti-1", tenant: str = "clinic") -> str:
    signed, _ = issue_token(
        secret=SECRET,
        subject=subject,
        role=Role.DISPLAY,
        tenant=tenant,
        ttl=timedelta(days=days),
        now=NOW,
        token_id=jti,
    )
    return signed


def test_renewal_is_due_only_in_the_last_month() -> None:
    credential = DeviceCredential(token(days=365))
    assert not credential.due(NOW)
    assert not credential.due(NOW + timedelta(days=365) - RENEW_WHEN_LEFT - timedelta(hours=1))
    assert credential.due(NOW + timedelta(days=365) - RENEW_WHEN_LEFT)
    assert credential.due(NOW + timedelta(days=400))  # expired: still worth trying


def test_a_renewed_token_replaces_the_old_one_and_its_file(tmp_path: Path) -> None:
    file = tmp_path / "token"
    old = token(days=10)
    file.write_text(old)
    credential = DeviceCredential(old, file=file)
    new = token(days=365)
    credential.replace(new)
    assert credential.current() == new
    assert credential.identity.expires_at == NOW + timedelta(days=365)
    assert file.read_text() == new + "\n"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token"], "no temporary file left behind"


@pytest.mark.parametrize(
    "other",
    [
        token(days=365, subject="tv-2"),
        token(days=365, jti="jti-2"),
        token(days=365, tenant="bank"),
        "not-a-token",
    ],
    ids=["another device", "another token id", "another tenant", "garbage"],
)
def test_a_renewal_for_anyone_else_is_refused_and_changes_nothing(
    tmp_path: Path, other: str
) -> None:
    file = tmp_path / "token"
    old = token(days=10)
    file.write_text(old)
    credential = DeviceCredential(old, file=file)
    with pytest.raises(ValueError, match="renewed token"):
        credential.replace(other)
    assert credential.current() == old
    assert file.read_text() == old
