"""RS256 verification against an identity provider's JWKS served on loopback."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import jwt
import pytest

from parley.auth import TokenVerifier
from parley.auth.keys import JwksKeys
from parley.errors import ServiceUnavailable, Unauthorized
from tests.support.clock import FakeClock
from tests.support.jwks import AUDIENCE, ISSUER, JwksServer, RsaKey, claims
from tests.support.servers import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CACHE_SECONDS = 300
COOLDOWN_SECONDS = 30
# The fetch timeout of the tests with a hanging provider: what "at once" is measured against.
HANGING_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def signing_key() -> RsaKey:
    return RsaKey("key-1")


@pytest.fixture(scope="module")
def next_key() -> RsaKey:
    """The key the provider rotates to."""
    return RsaKey("key-2")


@pytest.fixture
def jwks(signing_key: RsaKey) -> Iterator[JwksServer]:
    server = JwksServer(signing_key).start()
    yield server
    server.stop()


def jwks_keys(
    jwks: JwksServer,
    *,
    cooldown: float = COOLDOWN_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    timeout: float = 1.0,
) -> JwksKeys:
    return JwksKeys(
        jwks.url,
        algorithms=("RS256",),
        timeout_seconds=timeout,
        cache_seconds=CACHE_SECONDS,
        refresh_cooldown_seconds=cooldown,
        clock=clock,
    )


def checking(keys: JwksKeys) -> TokenVerifier:
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=0)


def verifier(
    jwks: JwksServer,
    *,
    cooldown: float = COOLDOWN_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    timeout: float = 1.0,
) -> TokenVerifier:
    return checking(jwks_keys(jwks, cooldown=cooldown, clock=clock, timeout=timeout))


def made_up_kid() -> str:
    return f"made-up-{uuid.uuid4().hex}"


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


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        b"[]",
        b'{"keys": []}',
        b'{"keys": "none"}',
        b'{"keys": [{"kty": "RSA", "kid": "half", "n": "AQAB"}]}',
        b'{"keys": [{"kty": "RSA", "kid": "k", "alg": ["RS256"], "n": "AQAB", "e": "AQAB"}]}',
    ],
    ids=["html", "array", "no-keys", "keys-not-a-list", "unusable-key", "unreadable-key"],
)
def test_a_body_that_is_not_a_jwks_is_a_503(
    jwks: JwksServer, signing_key: RsaKey, body: bytes
) -> None:
    jwks.body = body
    with pytest.raises(ServiceUnavailable):
        verifier(jwks).verify(signing_key.sign(claims()))


def test_a_jwks_without_signing_keys_is_a_503(jwks: JwksServer, signing_key: RsaKey) -> None:
    # PyJWKClient's filter: only keys for `sig` (or of no stated use), with a kid, sign tokens.
    jwks.body = json.dumps({"keys": [{**signing_key.jwk(), "use": "enc"}]}).encode()
    with pytest.raises(ServiceUnavailable):
        verifier(jwks).verify(signing_key.sign(claims()))


# A key withdrawn from the JWKS (a leaked key, rotated out) must stop verifying tokens.


def test_a_withdrawn_key_is_refused_once_the_cache_time_has_passed(
    jwks: JwksServer, signing_key: RsaKey, next_key: RsaKey
) -> None:
    clock = FakeClock()
    checked = verifier(jwks, clock=clock)
    checked.verify(signing_key.sign(claims()))
    jwks.keys = [next_key]
    clock.advance(CACHE_SECONDS + 1)
    with pytest.raises(Unauthorized, match="unknown key"):
        checked.verify(signing_key.sign(claims()))
    assert checked.verify(next_key.sign(claims(sub="after-rotation"))).user_id == "after-rotation"
    assert jwks.fetches == 2


def test_a_refetch_that_no_longer_lists_a_kid_forgets_it(
    jwks: JwksServer, signing_key: RsaKey, next_key: RsaKey
) -> None:
    clock = FakeClock()  # never moves: the withdrawn key's cache time does not run out
    checked = verifier(jwks, cooldown=0, clock=clock)
    checked.verify(signing_key.sign(claims()))
    jwks.keys = [next_key]
    # The new kid is unknown, so the key set is refetched: it now lists only the new key.
    assert checked.verify(next_key.sign(claims(sub="after-rotation"))).user_id == "after-rotation"
    assert jwks.fetches == 2
    with pytest.raises(Unauthorized, match="unknown key"):
        checked.verify(signing_key.sign(claims()))


def test_a_failed_refetch_keeps_the_key_set_until_its_cache_time(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    clock = FakeClock()
    checked = verifier(jwks, cooldown=0, clock=clock)
    checked.verify(signing_key.sign(claims()))
    jwks.failing = True
    with pytest.raises(ServiceUnavailable):
        checked.verify(signing_key.sign(claims(), kid=made_up_kid()))
    clock.advance(CACHE_SECONDS - 1)
    assert checked.verify(signing_key.sign(claims(sub="still"))).user_id == "still"
    clock.advance(1)
    with pytest.raises(ServiceUnavailable):
        checked.verify(signing_key.sign(claims()))


# An outage of the identity provider must not turn every request into a fetch, nor queue
# requests behind one.


def test_while_the_provider_fails_it_is_asked_once_per_cooldown(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    clock = FakeClock()
    jwks.failing, jwks.failure_status = True, 500
    checked = verifier(jwks, clock=clock)
    retry_afters = []
    for _ in range(21):
        with pytest.raises(ServiceUnavailable) as refused:
            checked.verify(signing_key.sign(claims(), kid=made_up_kid()))
        retry_afters.append(refused.value.retry_after)
    with pytest.raises(ServiceUnavailable):
        checked.verify(signing_key.sign(claims()))  # a published kid: no keys to check it with
    assert jwks.fetches == 1
    assert retry_afters == [COOLDOWN_SECONDS] * 21

    clock.advance(COOLDOWN_SECONDS - 10)
    with pytest.raises(ServiceUnavailable) as refused:
        checked.verify(signing_key.sign(claims()))
    assert refused.value.retry_after == 10
    assert refused.value.headers()["Retry-After"] == "10"
    assert jwks.fetches == 1

    clock.advance(10)
    jwks.failing = False
    assert checked.verify(signing_key.sign(claims(sub="back"))).user_id == "back"
    assert jwks.fetches == 2


def test_while_the_provider_fails_a_fresh_key_set_still_answers(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    clock = FakeClock()
    checked = verifier(jwks, clock=clock)
    checked.verify(signing_key.sign(claims()))
    jwks.failing, jwks.failure_status = True, 500
    clock.advance(COOLDOWN_SECONDS)
    with pytest.raises(ServiceUnavailable):  # the refetch for an unknown kid failed
        checked.verify(signing_key.sign(claims(), kid=made_up_kid()))
    for _ in range(20):
        with pytest.raises(Unauthorized, match="unknown key"):
            checked.verify(signing_key.sign(claims(), kid=made_up_kid()))
    assert checked.verify(signing_key.sign(claims(sub="known"))).user_id == "known"
    assert jwks.fetches == 2


def test_while_the_provider_hangs_unknown_kids_do_not_wait_for_the_fetch(
    jwks: JwksServer, signing_key: RsaKey, next_key: RsaKey
) -> None:
    # Cooldown 0: only the fetch in progress stands between unknown kids and the provider.
    keys = jwks_keys(jwks, cooldown=0, clock=FakeClock(), timeout=HANGING_TIMEOUT)
    checked = checking(keys)
    checked.verify(signing_key.sign(claims()))
    jwks.keys.append(next_key)
    jwks.hang()
    pool = ThreadPoolExecutor(max_workers=12)
    try:
        rotated = pool.submit(checked.verify, next_key.sign(claims()))
        wait_until(lambda: jwks.fetches == 2, timeout=5, what="the refetch")
        strangers = [
            pool.submit(checked.verify, signing_key.sign(claims(), kid=made_up_kid()))
            for _ in range(10)
        ]
        known = pool.submit(checked.verify, signing_key.sign(claims(sub="known")))
        _, pending = wait([*strangers, known], timeout=HANGING_TIMEOUT)
        assert not pending, "requests waited for the hanging fetch"
        assert keys.is_ready({"alg": "RS256", "kid": made_up_kid()})  # no worker thread needed
        for stranger in strangers:
            with pytest.raises(Unauthorized, match="unknown key"):
                stranger.result()
        assert known.result().user_id == "known"
    finally:
        jwks.release()
        pool.shutdown(wait=True, cancel_futures=True)
    # Released in time it is the new key; on a slow machine the fetch may have timed out first.
    with contextlib.suppress(ServiceUnavailable):
        assert rotated.result().user_id == "user-1"
    assert jwks.fetches == 2


def test_a_cold_process_waits_for_the_first_fetch_in_progress(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    checked = verifier(jwks, timeout=HANGING_TIMEOUT)
    jwks.hang()
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        first = pool.submit(checked.verify, signing_key.sign(claims(sub="first")))
        wait_until(lambda: jwks.fetches == 1, timeout=5, what="the first fetch")
        second = pool.submit(checked.verify, signing_key.sign(claims(sub="second")))
        # Time for the second request to reach the fetch in progress; should it come later, it
        # finds the keys already fetched, and the test holds as well.
        time.sleep(0.1)
        jwks.release()
        assert first.result(timeout=HANGING_TIMEOUT * 2).user_id == "first"
        assert second.result(timeout=HANGING_TIMEOUT * 2).user_id == "second"
    finally:
        jwks.release()
        pool.shutdown(wait=True, cancel_futures=True)
    assert jwks.fetches == 1


def test_a_cold_process_does_not_refetch_after_the_fetch_it_waited_for_failed(
    jwks: JwksServer, signing_key: RsaKey
) -> None:
    checked = verifier(jwks, timeout=1.0)
    jwks.hang()  # held past the timeout: the fetch fails
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        first = pool.submit(checked.verify, signing_key.sign(claims()))
        wait_until(lambda: jwks.fetches == 1, timeout=5, what="the first fetch")
        second = pool.submit(checked.verify, signing_key.sign(claims()))
        for request in (first, second):
            with pytest.raises(ServiceUnavailable):
                request.result(timeout=10)
    finally:
        jwks.release()
        pool.shutdown(wait=True, cancel_futures=True)
    assert jwks.fetches == 1


@pytest.fixture
def offloaded(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What TokenVerifier.verify_async sent to a worker thread."""
    calls: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def recording(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", recording)
    return calls


@pytest.mark.anyio
async def test_unknown_kids_during_the_cooldown_are_refused_without_a_worker_thread(
    jwks: JwksServer, signing_key: RsaKey, offloaded: list[object]
) -> None:
    checked = verifier(jwks, clock=FakeClock())
    await checked.verify_async(signing_key.sign(claims()))
    assert len(offloaded) == 1  # the cold fetch
    for _ in range(5):
        with pytest.raises(Unauthorized, match="unknown key"):
            await checked.verify_async(signing_key.sign(claims(), kid=made_up_kid()))
    assert len(offloaded) == 1
    assert jwks.fetches == 1


@pytest.mark.anyio
async def test_a_failed_fetch_during_its_cooldown_is_a_503_without_a_worker_thread(
    jwks: JwksServer, signing_key: RsaKey, offloaded: list[object]
) -> None:
    jwks.failing = True
    checked = verifier(jwks, clock=FakeClock())
    for _ in range(6):
        with pytest.raises(ServiceUnavailable):
            await checked.verify_async(signing_key.sign(claims(), kid=made_up_kid()))
    assert len(offloaded) == 1  # the fetch that failed
    assert jwks.fetches == 1
