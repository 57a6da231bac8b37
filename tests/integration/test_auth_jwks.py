"""RS256 verification against an identity provider's JWKS served on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import TYPE_CHECKING

import jwt
import pytest

from parley.auth import TokenVerifier
from parley.auth.keys import JwksKeys
from parley.errors import ServiceUnavailable, Unauthorized
from tests.support.jwks import AUDIENCE, ISSUER, JwksServer, RsaKey, claims

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def signing_key() -> RsaKey:
    return RsaKey("key-1")


@pytest.fixture
def jwks(signing_key: RsaKey) -> Iterator[JwksServer]:
    server = JwksServer(signing_key).start()
    yield server
    server.stop()


def verifier(jwks: JwksServer, *, cooldown: float = 30) -> TokenVerifier:
    keys = JwksKeys(
        jwks.url,
        algorithms=("RS256",),
        timeout_seconds=1.0,
        cache_seconds=300,
        refresh_cooldown_seconds=cooldown,
    )
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=0)


def test_a_token_signed_by_the_provider_is_accepted(jwks: JwksServer, signing_key: RsaKey) -> None:
    token = signing_key.sign(claims(sub="user-9", org="acme", scope="analytics:view"))
    identity = verifier(jwks).verify(token)
    assert (identity.user_id, identity.org_id) == ("user-9", "acme")
    assert identity.scopes == {"analytics:view"}


def test_keys_are_fetched_once_and_then_served_from_cache(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    checked = verifier(jwks)
    for _ in range(5):
        checked.verify(signing_key.sign(claims()))
    assert jwks.fetches == 1


@pytest.mark.anyio
async def test_async_verification_fetches_cold_keys_off_the_event_loop(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    checked = verifier(jwks)
    assert (await checked.verify_async(signing_key.sign(claims()))).user_id == "user-1"
    assert (await checked.verify_async(signing_key.sign(claims()))).user_id == "user-1"
    assert jwks.fetches == 1


def test_a_rotated_key_is_picked_up_once_the_refresh_cooldown_allows(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    checked = verifier(jwks, cooldown=0)
    checked.verify(signing_key.sign(claims()))
    rotated = RsaKey("key-2")
    jwks.keys.append(rotated)
    assert checked.verify(rotated.sign(claims(sub="after-rotation"))).user_id == "after-rotation"
    assert jwks.fetches == 2


def test_unknown_kids_do_not_refetch_the_key_set_during_the_cooldown(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    checked = verifier(jwks, cooldown=30)
    checked.verify(signing_key.sign(claims()))
    stranger = RsaKey("stranger")
    for index in range(5):
        with pytest.raises(Unauthorized, match="unknown key"):
            checked.verify(stranger.sign(claims(), kid=f"made-up-{index}"))
    assert jwks.fetches == 1


def test_hs256_signed_with_the_published_public_key_is_refused(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    # The key-confusion attack: the RSA public key is public, so an attacker can HMAC with it.
    header = {"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=")
    signing_input = head + b"." + payload
    signature = hmac.new(signing_key.public_pem, signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
    with pytest.raises(Unauthorized, match="algorithm"):
        verifier(jwks).verify(forged)
    assert jwks.fetches == 0  # refused before any key lookup


def test_alg_none_is_refused(jwks: JwksServer) -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(Unauthorized, match="algorithm"):
        verifier(jwks).verify(token)


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(jwks: JwksServer) -> None:
    impostor = RsaKey("key-1")
    with pytest.raises(Unauthorized, match="signature"):
        verifier(jwks).verify(impostor.sign(claims()))


def test_an_unknown_kid_is_refused(jwks: JwksServer) -> None:
    stranger = RsaKey("not-published")
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier(jwks).verify(stranger.sign(claims()))


def test_a_token_without_kid_is_refused(jwks: JwksServer, signing_key: RsaKey) -> None:
    token = jwt.encode(claims(), signing_key.private, algorithm="RS256")
    with pytest.raises(Unauthorized, match="kid"):
        verifier(jwks).verify(token)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": 1_000_000_000}, "expired"),
        ({"nbf": 4_000_000_000, "exp": 4_000_000_600}, "not valid yet"),
        ({"exp": None}, "required claim"),
        ({"aud": "another-api"}, "audience"),
        ({"iss": "https://evil.example.test/"}, "issuer"),
    ],
)
def test_claims_are_checked(
    jwks: JwksServer, signing_key: RsaKey, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(Unauthorized, match=message):
        verifier(jwks).verify(signing_key.sign(claims(**overrides)))


def test_an_unreachable_provider_is_a_503_not_a_401(jwks: JwksServer, signing_key: RsaKey) -> None:
    # The caller's token may be fine; the failure is ours, and retrying may help.
    jwks.failing = True
    with pytest.raises(ServiceUnavailable):
        verifier(jwks).verify(signing_key.sign(claims()))
