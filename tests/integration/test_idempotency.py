"""Idempotency-Key handling against every hot backend on real servers (moto on loopback for
DynamoDB, redis-server behind the Upstash REST shim)."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from parley.chat.idempotency.store import (
    Begin,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    IdempotencyStore,
    request_fingerprint,
    validate_idempotency_key,
)
from parley.errors import ServiceUnavailable, ValidationFailed
from parley.hot.memory import MemoryHotStore
from tests.support.hot import BACKENDS, BrokenHotStore, hot_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from parley.hot.base import HotStore

pytestmark = pytest.mark.anyio

SHORT_TTL = 0.3

BODY = {"message": "Summarise our Q3 numbers", "temperature": 0, "mode": "auto"}
FINGERPRINT = request_fingerprint("stream", BODY)
RESULT: dict[str, Any] = {
    "text": "Revenue grew 12% — 👍",
    "done": {"finish_reason": "stop", "usage": {"input_tokens": 9, "output_tokens": 7}},
    "meta": {"conversation_id": "c1", "message_id": "m1"},
}


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[HotStore]:
    backend = hot_store(request, request.param)
    yield backend
    await backend.close()


@pytest.fixture
def prefix() -> str:
    # Backends outlive a test (one redis-server per session): every test gets its own prefix.
    return f"idem-{uuid.uuid4().hex}"


@pytest.fixture
def idem(store: HotStore, prefix: str) -> IdempotencyStore:
    return IdempotencyStore(store, prefix=prefix)


@pytest.fixture
def key() -> str:
    return str(uuid.uuid4())


async def begin(idem: IdempotencyStore, key: str, **overrides: str) -> Begin:
    args = {"org_id": "acme", "user_id": "u1", "key": key, "fingerprint": FINGERPRINT}
    return await idem.begin(**{**args, **overrides})


async def until_new(idem: IdempotencyStore, key: str, *, limit_seconds: float = 10.0) -> Begin:
    """Poll begin until it claims the key (the old record expired); fails after the limit."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        started = await begin(idem, key)
        if started.kind == "new":
            return started
        await anyio.sleep(0.05)
    raise AssertionError("the key was never released")


async def test_new_then_complete_then_replay_returns_the_same_result(
    idem: IdempotencyStore, key: str
) -> None:
    first = await begin(idem, key)
    assert first.kind == "new"
    assert first.claim is not None
    await idem.complete(first.claim, RESULT)

    again = await begin(idem, key)
    assert again.kind == "replay"
    assert again.result == RESULT
    assert again.claim is None
    again.raise_if_in_progress()  # a replay is not an error


async def test_another_environment_replays_the_result(
    store: HotStore, prefix: str, key: str
) -> None:
    first = await begin(IdempotencyStore(store, prefix=prefix), key)
    assert first.claim is not None
    await IdempotencyStore(store, prefix=prefix).complete(first.claim, RESULT)
    replayed = await begin(IdempotencyStore(store, prefix=prefix), key)
    assert (replayed.kind, replayed.result) == ("replay", RESULT)


async def test_concurrent_begins_let_exactly_one_run(idem: IdempotencyStore, key: str) -> None:
    outcomes: list[Begin] = []

    async def one() -> None:
        outcomes.append(await begin(idem, key))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(one)

    kinds = sorted(outcome.kind for outcome in outcomes)
    assert kinds == ["in_progress"] * 9 + ["new"]


async def test_in_progress_raises_a_retryable_conflict_with_retry_after(
    idem: IdempotencyStore, key: str
) -> None:
    assert (await begin(idem, key)).kind == "new"
    second = await begin(idem, key)
    assert second.kind == "in_progress"
    with pytest.raises(IdempotencyInProgress) as caught:
        second.raise_if_in_progress()
    error = caught.value
    assert (error.status, error.code, error.retryable) == (409, "idempotency_in_progress", True)
    assert int(error.headers()["Retry-After"]) >= 1


async def test_the_same_key_with_another_body_is_rejected(idem: IdempotencyStore, key: str) -> None:
    other = request_fingerprint("stream", {**BODY, "message": "Summarise Q4"})
    first = await begin(idem, key)
    assert first.claim is not None
    # While the first request runs...
    with pytest.raises(IdempotencyKeyReused) as caught:
        await begin(idem, key, fingerprint=other)
    assert (caught.value.status, caught.value.code) == (422, "idempotency_key_reused")
    assert caught.value.retryable is False
    # ...and after it completed.
    await idem.complete(first.claim, RESULT)
    with pytest.raises(IdempotencyKeyReused):
        await begin(idem, key, fingerprint=other)
    assert (await begin(idem, key)).kind == "replay"


async def test_abandon_lets_a_retry_run(idem: IdempotencyStore, key: str) -> None:
    first = await begin(idem, key)
    assert first.claim is not None
    await idem.abandon(first.claim)
    retry = await begin(idem, key)
    assert retry.kind == "new"
    assert retry.claim is not None
    assert retry.claim.token != first.claim.token


async def test_a_claim_left_by_a_crash_expires(store: HotStore, prefix: str, key: str) -> None:
    idem = IdempotencyStore(store, prefix=prefix, in_progress_ttl_seconds=SHORT_TTL)
    assert (await begin(idem, key)).kind == "new"
    assert (await begin(idem, key)).kind == "in_progress"
    assert (await until_new(idem, key)).kind == "new"


async def test_abandoning_an_expired_claim_keeps_the_newer_one(
    store: HotStore, prefix: str, key: str
) -> None:
    idem = IdempotencyStore(store, prefix=prefix, in_progress_ttl_seconds=SHORT_TTL)
    stale = await begin(idem, key)
    assert stale.claim is not None
    fresh = await until_new(idem, key)
    await idem.abandon(stale.claim)  # the slow first request fails at last
    assert fresh.claim is not None
    assert (await begin(idem, key)).kind == "in_progress"


async def test_a_result_expires_after_its_ttl(store: HotStore, prefix: str, key: str) -> None:
    idem = IdempotencyStore(store, prefix=prefix, result_ttl_seconds=SHORT_TTL)
    first = await begin(idem, key)
    assert first.claim is not None
    await idem.complete(first.claim, RESULT)
    assert (await begin(idem, key)).kind == "replay"
    assert (await until_new(idem, key)).kind == "new"


async def test_keys_are_scoped_to_org_and_user(idem: IdempotencyStore, key: str) -> None:
    mine = await begin(idem, key)
    assert mine.claim is not None
    await idem.complete(mine.claim, RESULT)
    assert (await begin(idem, key, user_id="u2")).kind == "new"
    assert (await begin(idem, key, org_id="globex")).kind == "new"
    # Ids that would run together if the scope were a plain concatenation.
    assert (await begin(idem, key, org_id="acmeu", user_id="1")).kind == "new"
    assert (await begin(idem, key)).kind == "replay"


async def test_an_unreadable_record_is_replaced(
    store: HotStore, idem: IdempotencyStore, key: str
) -> None:
    first = await begin(idem, key)
    assert first.claim is not None
    await store.set(first.claim.store_key, '{"v": 0, "state": "mystery"}', ttl_seconds=60)
    assert (await begin(idem, key)).kind == "new"


async def test_a_result_too_large_to_store_releases_the_claim(
    store: HotStore, prefix: str, key: str
) -> None:
    idem = IdempotencyStore(store, prefix=prefix, max_result_bytes=1000)
    first = await begin(idem, key)
    assert first.claim is not None
    await idem.complete(first.claim, {**RESULT, "text": "x" * 2000})
    assert (await begin(idem, key)).kind == "new"


async def test_a_large_result_under_the_cap_replays(idem: IdempotencyStore, key: str) -> None:
    # Close to the 256 KiB default: every backend (DynamoDB's 400 KB item) takes it.
    large = {**RESULT, "text": "é" * 120_000 + "x" * 10_000}
    first = await begin(idem, key)
    assert first.claim is not None
    await idem.complete(first.claim, large)
    replayed = await begin(idem, key)
    assert replayed.result == large


async def test_a_store_failure_fails_begin_but_not_complete_or_abandon(key: str) -> None:
    healthy = IdempotencyStore(MemoryHotStore())
    claim = (await begin(healthy, key)).claim
    assert claim is not None
    broken = IdempotencyStore(BrokenHotStore())
    with pytest.raises(ServiceUnavailable):
        await begin(broken, key)
    await broken.complete(claim, RESULT)  # logged, not raised: the client has its answer
    await broken.abandon(claim)


@pytest.mark.parametrize(
    "value",
    ["", "x" * 256, "clé", "a\nb", "tab\there", "\x7f", "emoji-👍"],
)
async def test_bad_header_values_are_rejected(idem: IdempotencyStore, value: str) -> None:
    with pytest.raises(ValidationFailed, match="Idempotency-Key") as caught:
        validate_idempotency_key(value)
    assert caught.value.status == 422
    with pytest.raises(ValidationFailed):
        await begin(idem, value)


@pytest.mark.parametrize(
    "value", ["k", "x" * 255, str(uuid.uuid4()), '"8e03978e-40d5-43e8-bc93-6894a57f9324"', "a b~!"]
)
def test_good_header_values_are_accepted(value: str) -> None:
    assert validate_idempotency_key(value) == value


def test_the_fingerprint_ignores_key_order_but_not_content_or_endpoint() -> None:
    reordered = dict(reversed(list(BODY.items())))
    assert request_fingerprint("stream", reordered) == FINGERPRINT
    assert request_fingerprint("stream", {**BODY, "temperature": 0.5}) != FINGERPRINT
    assert request_fingerprint("completions", BODY) != FINGERPRINT
