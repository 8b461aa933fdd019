from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from protocol import InvalidToken, Role, issue_token, verify_token

SECRET = "s" * 48


def test_a_token_verifies_to_the_principal_it_was_issued_for() -> None:
    token, issued = issue_token(
        secret=SECRET, subject="totem-1", role=Role.TOTEM, tenant="t1", ttl=timedelta(days=1)
    )
    principal = verify_token(token, secret=SECRET)
    assert principal == issued
    assert principal.is_device
    assert not principal.is_user
    assert principal.may_act_in("t1")
    assert not principal.may_act_in("t2")


def test_superadmin_acts_in_every_tenant() -> None:
    token, _ = issue_token(
        secret=SECRET, subject="root", role=Role.SUPERADMIN, tenant=None, ttl=timedelta(hours=1)
    )
    assert verify_token(token, secret=SECRET).may_act_in("anything")


def test_tenant_scoped_roles_need_a_tenant() -> None:
    with pytest.raises(ValueError, match="needs a tenant"):
        issue_token(secret=SECRET, subject="op", role=Role.OPERATOR, tenant=None, ttl=timedelta(1))


def test_expired_token_is_refused_after_the_leeway() -> None:
    token, _ = issue_token(
        secret=SECRET,
        subject="op",
        role=Role.OPERATOR,
        tenant="t1",
        ttl=timedelta(minutes=1),
        now=datetime.now(UTC) - timedelta(minutes=5),
    )
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(token, secret=SECRET)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        issue_token(
            secret="other" * 10, subject="op", role=Role.OPERATOR, tenant="t1", ttl=timedelta(1)
        )[0],
        jwt.encode({"sub": "op", "role": "operator", "tenant": "t1"}, SECRET, algorithm="HS256"),
        jwt.encode(
            {
                "iss": "queuecast",
                "sub": "op",
                "role": "emperor",
                "tenant": "t1",
                "jti": "x",
                "iat": datetime.now(UTC),
                "exp": datetime.now(UTC) + timedelta(hours=1),
            },
            SECRET,
            algorithm="HS256",
        ),
        jwt.encode({"sub": "op"}, "", algorithm="none"),
    ],
    ids=["empty", "garbage", "forged", "no-exp", "unknown-role", "alg-none"],
)
def test_missing_forged_or_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(token, secret=SECRET)
