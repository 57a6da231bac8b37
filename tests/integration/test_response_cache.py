"""The exact-match response cache against every hot backend on real servers (moto on loopback
for DynamoDB, redis-server behind the Upstash REST shim)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from parley.chat.response_cache import CachedAnswer, ResponseCache
from parley.hot.memory import MemoryHotStore
from tests.support.hot import BACKENDS, BrokenHotStore, hot_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from parley.hot.base import HotStore

pytestmark = pytest.mark.anyio

SHORT_TTL = 0.3
DAY = 86400.0

ANSWER = CachedAnswer(
    text="Bonjour 👋 — use FLUX Pro for “watercolor” scenes.",
    model="gpt-4o-mini",
    provider="openai",
    finish_reason="stop",
    input_tokens=42,
    output_tokens=17,
    cost_usd=0.00031,
    created_at=1_760_000_000.25,
)

REQUEST: dict[str, Any] = {
    "org_id": "acme",
    "model": "gpt-4o-mini",
    "system": "You are terse.",
    "messages": [("user", "Hi"), ("assistant", "Hello!"), ("user", "Which model for art?")],
    "max_tokens": 512,
    "temperature": 0.0,
}


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[HotStore]:
    backend = hot_store(request, request.param)
    yield backend
    await backend.close()


@pytest.fixture
def cache(store: HotStore) -> ResponseCache:
    # Backends outlive a test (one redis-server per session): every test gets its own prefix.
    return ResponseCache(store, prefix=f"cache-{uuid.uuid4().hex}")


async def until_gone(cache: ResponseCache, key: str, *, limit_seconds: float = 10.0) -> bool:
    """Poll until the entry reads as a miss; False if it is still there after the limit."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        if await cache.get(key) is None:
            return True
        await anyio.sleep(0.05)
    return False


async def test_miss_then_hit_returns_the_stored_answer(cache: ResponseCache) -> None:
    key = cache.key_for(**REQUEST)
    assert await cache.get(key) is None
    await cache.put(key, ANSWER, ttl_seconds=DAY)
    assert await cache.get(key) == ANSWER


async def test_a_second_cache_on_the_same_store_sees_the_answer(store: HotStore) -> None:
    # Another Lambda environment: nothing shared but the store.
    prefix = f"cache-{uuid.uuid4().hex}"
    first, second = ResponseCache(store, prefix=prefix), ResponseCache(store, prefix=prefix)
    await first.put(first.key_for(**REQUEST), ANSWER, ttl_seconds=DAY)
    assert await second.get(second.key_for(**REQUEST)) == ANSWER


def test_key_is_stable_for_the_same_request() -> None:
    cache = ResponseCache(MemoryHotStore())
    same = {**REQUEST, "messages": list(REQUEST["messages"]), "temperature": 0}
    assert cache.key_for(**REQUEST) == cache.key_for(**REQUEST) == cache.key_for(**same)
    assert cache.key_for(**REQUEST).startswith("cache:")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("org_id", "globex"),
        ("model", "claude-haiku"),
        ("system", None),
        ("system", "You are verbose."),
        ("messages", [("user", "Hi"), ("assistant", "Hello!"), ("user", "Which model for art")]),
        ("messages", [("user", "Hi"), ("user", "Hello!"), ("user", "Which model for art?")]),
        ("messages", [("user", "Hi"), ("assistant", "Hello!")]),
        ("messages", [("user", "Which model for art?")]),
        ("max_tokens", 513),
        ("temperature", None),
        ("temperature", 0.2),
    ],
)
def test_any_change_that_can_change_the_answer_changes_the_key(field: str, value: object) -> None:
    cache = ResponseCache(MemoryHotStore())
    assert cache.key_for(**{**REQUEST, field: value}) != cache.key_for(**REQUEST)


def test_message_boundaries_are_part_of_the_key() -> None:
    cache = ResponseCache(MemoryHotStore())
    split = {**REQUEST, "messages": [("user", "ab"), ("user", "c")]}
    joined = {**REQUEST, "messages": [("user", "a"), ("user", "bc")]}
    assert cache.key_for(**split) != cache.key_for(**joined)


@pytest.mark.parametrize(
    ("temperature", "flag", "expected"),
    [(0.0, False, True), (0, False, True), (None, False, False), (0.7, False, False),
     (0.7, True, True), (None, True, True)],
)  # fmt: skip
def test_cacheable_when_deterministic_or_marked(
    temperature: float | None, flag: bool, expected: bool
) -> None:
    assert ResponseCache.is_cacheable(temperature, flag) is expected


async def test_an_answer_expires_after_its_ttl(cache: ResponseCache) -> None:
    key = cache.key_for(**REQUEST)
    await cache.put(key, ANSWER, ttl_seconds=SHORT_TTL)
    assert await cache.get(key) == ANSWER
    assert await until_gone(cache, key)


@pytest.mark.parametrize("finish_reason", ["error", "incomplete", "content_filter", "tool_calls"])
async def test_only_complete_answers_are_stored(cache: ResponseCache, finish_reason: str) -> None:
    key = cache.key_for(**REQUEST)
    await cache.put(key, replace(ANSWER, finish_reason=finish_reason), ttl_seconds=DAY)
    assert await cache.get(key) is None


async def test_an_answer_cut_at_max_tokens_is_stored(cache: ResponseCache) -> None:
    key = cache.key_for(**REQUEST)
    await cache.put(key, replace(ANSWER, finish_reason="length"), ttl_seconds=DAY)
    cached = await cache.get(key)
    assert cached is not None
    assert cached.finish_reason == "length"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '["a list"]',
        "{}",
        json.dumps({**json.loads(ANSWER.to_json()), "v": 0}),  # an older format
        json.dumps({**json.loads(ANSWER.to_json()), "input_tokens": "42"}),
        json.dumps({**json.loads(ANSWER.to_json()), "output_tokens": True}),
        json.dumps({k: v for k, v in json.loads(ANSWER.to_json()).items() if k != "text"}),
    ],
)
async def test_an_unreadable_value_is_a_miss(
    cache: ResponseCache, store: HotStore, raw: str
) -> None:
    key = cache.key_for(**REQUEST)
    await store.set(key, raw, ttl_seconds=60)
    assert await cache.get(key) is None


async def test_a_large_answer_under_the_cap_round_trips(cache: ResponseCache) -> None:
    # Close to the 256 KiB default: proves every backend (DynamoDB's 400 KB item) takes it.
    key = cache.key_for(**REQUEST)
    large = replace(ANSWER, text="é" * 120_000 + "x" * 10_000)  # 250,000 bytes of UTF-8
    await cache.put(key, large, ttl_seconds=60)
    assert await cache.get(key) == large


async def test_an_answer_over_the_cap_is_skipped(cache: ResponseCache) -> None:
    key = cache.key_for(**REQUEST)
    await cache.put(key, replace(ANSWER, text="x" * 270_000), ttl_seconds=60)
    assert await cache.get(key) is None


async def test_the_cap_counts_encoded_bytes(store: HotStore) -> None:
    cache = ResponseCache(store, prefix=f"cache-{uuid.uuid4().hex}", max_value_bytes=1000)
    key = cache.key_for(**REQUEST)
    await cache.put(key, replace(ANSWER, text="x" * 600), ttl_seconds=60)
    assert await cache.get(key) is not None
    # 600 characters again, but 1,800 bytes: over the cap.
    await cache.put(key, replace(ANSWER, text="€" * 600, model="other"), ttl_seconds=60)
    cached = await cache.get(key)
    assert cached is not None
    assert cached.model == "gpt-4o-mini"


async def test_a_store_failure_is_a_miss_and_a_skipped_write() -> None:
    cache = ResponseCache(BrokenHotStore())
    key = cache.key_for(**REQUEST)
    assert await cache.get(key) is None
    await cache.put(key, ANSWER, ttl_seconds=DAY)  # does not raise


def test_to_json_is_compact_and_round_trips() -> None:
    raw = ANSWER.to_json()
    assert ": " not in raw
    assert ", " not in raw.replace(ANSWER.text, "")
    assert "👋" in raw  # not \\u-escaped: half the bytes for non-Latin text
    assert CachedAnswer.from_json(raw) == ANSWER
