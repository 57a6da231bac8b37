"""Rate limits through the chat API (in-process, on memory stores), on each rate limiter a
deployment may use: the 21st request of a user in a minute is 429 with Retry-After and
consumes nothing."""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING

import anyio
import pytest

from parley.budget.ratelimit.dynamodb import DynamoDBRateLimiter
from parley.budget.ratelimit.memory import MemoryRateLimiter
from parley.budget.ratelimit.upstash import UpstashRateLimiter
from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer
from tests.support.chat import MemoryChat, StartMemoryChat, stream_chat

if TYPE_CHECKING:
    from parley.budget.ratelimit import RateLimiter
    from parley.config import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "dynamodb", "upstash"])
def limiter(request: pytest.FixtureRequest) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter()
    if request.param == "dynamodb":
        settings: Settings = request.getfixturevalue("settings")
        return DynamoDBRateLimiter(settings.hot_table, client=request.getfixturevalue("dynamodb"))
    shim = request.getfixturevalue("upstash")
    from upstash_redis.asyncio import Redis

    return UpstashRateLimiter(Redis(url=shim.url, token=shim.token, allow_telemetry=False))


@pytest.fixture
def chat(start_memory_chat: StartMemoryChat, limiter: RateLimiter) -> MemoryChat:
    """The app in-process on memory stores, limited by ``limiter``."""
    return start_memory_chat(limiter=limiter)


async def well_inside_a_minute(needed_seconds: float = 10) -> None:
    """Wait, if need be, for the next minute to begin. The limit is a sliding window over
    epoch-aligned minutes (upstash-ratelimit's, on every backend): the last minute counts in
    proportion to how much of it the past 60 s still cover, so a burst that straddles a
    minute's end may admit a little more or less than the limit. Tests of an exact count keep
    their burst inside one minute; Upstash's limiter reads the real clock, so this waits."""
    into = time.time() % 60
    if into > 60 - needed_seconds:
        await anyio.sleep(60 - into + 0.05)


def usage_count(chat: MemoryChat, org: str) -> int:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return len(chat.stores.usage.for_org_day(org, today))


async def test_the_21st_request_in_a_minute_is_429_and_consumes_nothing(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    org = f"org-{chat.models['m-openai'][:8]}"
    upstream.script(chat.models["m-openai"], Script(chunks=["ok"], usage=(5, 1)))
    chat.stores.ledger.grant(org, 1_000_000)
    # Twenty at once, as many environments would send them; then one more.
    await well_inside_a_minute()
    outcomes: list[int] = []

    async def one() -> None:
        outcomes.append((await stream_chat(chat, {"message": "Hi"}, org=org)).status)

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(one)
    assert outcomes == [200] * 20
    calls, events = len(upstream.requests), usage_count(chat, org)
    balance = chat.stores.ledger.balance(org)

    refused = await stream_chat(chat, {"message": "Hi"}, org=org)

    assert refused.status == 429
    error = refused.body["error"]
    assert (error["code"], error["retryable"]) == ("rate_limited", True)
    assert error["details"]["scope"] == "user"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Nothing was consumed: no provider call, no usage, no charge, no stored message.
    assert len(upstream.requests) == calls
    assert usage_count(chat, org) == events
    assert chat.stores.ledger.balance(org) == balance
    async with chat.client() as client:
        listed = await client.get("/v1/conversations", headers=bearer(org_id=org))
    assert len(listed.json()["conversations"]) == 20
    # Another user of the same org is counted apart.
    assert (await stream_chat(chat, {"message": "Hi"}, user="other", org=org)).status == 200


async def test_a_race_of_many_requests_admits_exactly_the_limit(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    org = f"race-{chat.models['m-openai'][:8]}"
    upstream.script(chat.models["m-openai"], Script(chunks=["ok"]))
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings",
            json={"rate_limits": {"user_per_minute": 0, "org_per_minute": 7}},
            headers=bearer("admin", org_id=org, scopes="org:manage"),
        )
    assert response.status_code == 200, response.text
    statuses: list[int] = []
    await well_inside_a_minute()

    async def one(user: int) -> None:
        streamed = await stream_chat(chat, {"message": "Hi"}, user=f"u{user}", org=org)
        statuses.append(streamed.status)

    async with anyio.create_task_group() as group:
        for user in range(25):
            group.start_soon(one, user)
    assert sorted(statuses) == [200] * 7 + [429] * 18
