"""HS256 verification with a shared secret (development, and providers that sign with one)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from parley.auth import TokenVerifier, mint_token
from parley.auth.keys import SharedSecret
from parley.errors import Unauthorized

SECRET = "a-test-secret-that-is-long-enough-for-hs256-and-even-for-hs512-too"


def verifier(**options: object) -> TokenVerifier:
    return TokenVerifier(SharedSecret(SECRET), **options)  # type: ignore[arg-type]


def sign(claims: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def now() -> int:
    return int(time.time())


def test_a_valid_token_gives_user_org_and_scopes() -> None:
    token = mint_token(SECRET, user_id="u-1", org_id="acme", scopes="analytics:view users:manage")
    identity = verifier().verify(token)
    assert identity.user_id == "u-1"
    assert identity.org_id == "acme"
    assert identity.scopes == {"analytics:view", "users:manage"}


def test_a_token_without_org_belongs_to_the_default_org() -> None:
    identity = verifier(default_org="default").verify(mint_token(SECRET, user_id="u-1"))
    assert identity.org_id == "default"
    assert identity.scopes == frozenset()


def test_scopes_may_also_come_as_a_list() -> None:
    token = sign({"sub": "u", "exp": now() + 60, "scope": ["a", "b", 3]})
    assert verifier().verify(token).scopes == {"a", "b"}


def test_the_org_claim_name_is_configurable() -> None:
    token = sign({"sub": "u", "exp": now() + 60, "custom:org": "acme"})
    assert verifier(org_claim="custom:org").verify(token).org_id == "acme"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-jwt", "not a JWT"),
        ("a.b.c", "not a JWT"),
        ("", "not a JWT"),
    ],
)
def test_garbage_is_refused(token: str, message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        verifier().verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = sign({"sub": "u", "exp": now() + 60}, secret="another-secret-that-is-also-long-enough")
    with pytest.raises(Unauthorized, match="signature"):
        verifier().verify(token)


def test_alg_none_is_refused() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "u", "exp": now() + 60}).encode())
    token = f"{header.decode().rstrip('=')}.{payload.decode().rstrip('=')}."
    with pytest.raises(Unauthorized, match="algorithm"):
        verifier().verify(token)


def test_another_hmac_algorithm_is_refused_even_with_the_right_secret() -> None:
    token = sign({"sub": "u", "exp": now() + 60}, algorithm="HS512")
    with pytest.raises(Unauthorized, match="algorithm"):
        verifier().verify(token)


def test_an_expired_token_is_refused() -> None:
    token = mint_token(SECRET, user_id="u", ttl_seconds=60, now=now() - 3600)
    with pytest.raises(Unauthorized, match="expired"):
        verifier(leeway_seconds=0).verify(token)


def test_leeway_tolerates_small_clock_skew() -> None:
    token = sign({"sub": "u", "exp": now() - 5})
    assert verifier(leeway_seconds=30).verify(token).user_id == "u"


def test_a_not_yet_valid_token_is_refused() -> None:
    token = sign({"sub": "u", "exp": now() + 7200, "nbf": now() + 3600})
    with pytest.raises(Unauthorized, match="not valid yet"):
        verifier().verify(token)


def test_a_token_without_exp_is_refused() -> None:
    with pytest.raises(Unauthorized, match="required claim"):
        verifier().verify(sign({"sub": "u"}))


def test_a_token_without_sub_is_refused() -> None:
    with pytest.raises(Unauthorized, match="required claim"):
        verifier().verify(sign({"exp": now() + 60}))


def test_audience_is_checked_when_configured() -> None:
    checked = verifier(audience="parley")
    assert checked.verify(mint_token(SECRET, user_id="u", audience="parley")).user_id == "u"
    with pytest.raises(Unauthorized, match="audience"):
        checked.verify(mint_token(SECRET, user_id="u", audience="someone-else"))
    with pytest.raises(Unauthorized, match="required claim"):
        checked.verify(mint_token(SECRET, user_id="u"))


def test_an_audience_is_not_required_when_none_is_configured() -> None:
    assert verifier().verify(mint_token(SECRET, user_id="u", audience="any")).user_id == "u"


def test_issuer_is_checked_when_configured() -> None:
    checked = verifier(issuer="https://idp.test/")
    assert checked.verify(mint_token(SECRET, user_id="u", issuer="https://idp.test/")).user_id
    with pytest.raises(Unauthorized, match="issuer"):
        checked.verify(mint_token(SECRET, user_id="u", issuer="https://evil.test/"))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", ""),
        ("sub", 42),
        ("sub", "a#b"),
        ("org", "a#b"),
        ("org", ["x"]),
        ("sub", "x" * 300),
        ("sub", "alice\ud800"),  # a lone surrogate: JSON carries it, no log or key can
        ("org", "\udc00acme"),
    ],
)
def test_ids_unusable_as_keys_are_refused_not_defaulted(claim: str, value: object) -> None:
    token = sign({"sub": "u", "exp": now() + 60, claim: value})
    with pytest.raises(Unauthorized):
        verifier().verify(token)
