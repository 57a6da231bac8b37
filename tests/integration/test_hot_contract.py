"""One contract, three backends: every HotStore behaves the same, against real servers
(moto on loopback for DynamoDB, redis-server behind the Upstash REST shim)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import anyio
import pytest

from tests.support.hot import BACKENDS, hot_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from parley.hot import HotStore

pytestmark = pytest.mark.anyio

SHORT_TTL = 0.3
PAST_SHORT_TTL = 0.5


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[HotStore]:
    backend = hot_store(request, request.param)
    yield backend
    await backend.close()


@pytest.fixture
def key() -> str:
    # Backends outlive a test (one redis-server per session): every test uses fresh keys.
    return f"test:{uuid.uuid4().hex}"


async def test_missing_key_reads_as_none(store: HotStore, key: str) -> None:
    assert await store.get(key) is None


async def test_set_then_get_returns_the_value_and_set_replaces_it(
    store: HotStore, key: str
) -> None:
    await store.set(key, '{"name": "Zoë", "n": 1}')
    assert await store.get(key) == '{"name": "Zoë", "n": 1}'
    await store.set(key, "second")
    assert await store.get(key) == "second"


async def test_value_without_ttl_stays(store: HotStore, key: str) -> None:
    await store.set(key, "kept")
    await anyio.sleep(PAST_SHORT_TTL)
    assert await store.get(key) == "kept"


async def test_value_expires_after_its_ttl(store: HotStore, key: str) -> None:
    await store.set(key, "brief", ttl_seconds=SHORT_TTL)
    assert await store.get(key) == "brief"
    await anyio.sleep(PAST_SHORT_TTL)
    assert await store.get(key) is None


async def test_delete_reports_whether_a_live_value_was_there(store: HotStore, key: str) -> None:
    assert await store.delete(key) is False
    await store.set(key, "v")
    assert await store.delete(key) is True
    assert await store.get(key) is None
    assert await store.delete(key) is False


async def test_delete_of_an_expired_value_reports_false(store: HotStore, key: str) -> None:
    await store.set(key, "brief", ttl_seconds=SHORT_TTL)
    await anyio.sleep(PAST_SHORT_TTL)
    assert await store.delete(key) is False


async def test_set_if_absent_stores_once_until_expiry(store: HotStore, key: str) -> None:
    assert await store.set_if_absent(key, "first", ttl_seconds=SHORT_TTL) is True
    assert await store.set_if_absent(key, "second", ttl_seconds=SHORT_TTL) is False
    assert await store.get(key) == "first"
    await anyio.sleep(PAST_SHORT_TTL)
    assert await store.set_if_absent(key, "third", ttl_seconds=10) is True
    assert await store.get(key) == "third"


async def test_increment_counts_within_one_window(store: HotStore, key: str) -> None:
    first = await store.increment(key, window_seconds=60)
    second = await store.increment(key, window_seconds=60)
    third = await store.increment(key, window_seconds=60, amount=5)
    assert (first.count, second.count, third.count) == (1, 2, 7)
    assert 0 < third.reset_after_seconds <= 60
    # The window is fixed: it runs from the first increment, later ones do not extend it.
    assert third.reset_after_seconds <= first.reset_after_seconds
    assert await store.get(key) == "7"


async def test_increment_starts_a_new_window_after_the_old_one_ends(
    store: HotStore, key: str
) -> None:
    await store.increment(key, window_seconds=SHORT_TTL)
    await store.increment(key, window_seconds=SHORT_TTL)
    await anyio.sleep(PAST_SHORT_TTL)
    fresh = await store.increment(key, window_seconds=60)
    assert fresh.count == 1
    assert fresh.reset_after_seconds > 50


async def test_concurrent_increments_are_atomic(store: HotStore, key: str) -> None:
    counts: list[int] = []

    async def bump() -> None:
        counts.append((await store.increment(key, window_seconds=60)).count)

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(bump)
    assert sorted(counts) == list(range(1, 21))


async def test_concurrent_set_if_absent_admits_exactly_one(store: HotStore, key: str) -> None:
    winners: list[str] = []

    async def claim(name: str) -> None:
        if await store.set_if_absent(key, name, ttl_seconds=30):
            winners.append(name)

    async with anyio.create_task_group() as group:
        for index in range(10):
            group.start_soon(claim, f"claimant-{index}")
    assert len(winners) == 1
    assert await store.get(key) == winners[0]
