"""Balances and spend caps through the chat API: what is held before a call, what is charged
after, the auto downgrade, 402 otherwise (the app in-process, on memory stores), and a balance
that always equals the recorded usage (on a real server over moto: the ledger's own tables)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import anyio
import pytest

from parley.budget.ledger import Ledger
from parley.state.usage import UsageRepository
from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer
from tests.support.chat import ChatTarget, MemoryChat, stream_chat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.budget.ledger import LedgerStore
    from parley.state.usage import UsageStore
    from tests.support.chat import StartChat


pytestmark = pytest.mark.anyio

ORG = "acme"
HARD_QUESTION = (
    "Explain step by step why this recursive function overflows the stack, compare the "
    "trade-offs of memoisation and iteration, and prove the iterative version terminates:\n"
    "```python\ndef f(n):\n    return f(n - 1) + f(n - 2)\n```\nWhy? How? What else?"
)


@pytest.fixture
def ledger(chat: MemoryChat) -> LedgerStore:
    return chat.stores.ledger


def recorded_tokens(usage: UsageStore, org: str = ORG) -> int:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    events = usage.for_org_day(org, today)
    return sum(event.input_tokens + event.output_tokens for event in events)


async def patch_settings(chat: ChatTarget, patch: dict[str, object]) -> None:
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings",
            json=patch,
            headers=bearer("admin", org_id=ORG, scopes="org:manage"),
        )
    assert response.status_code == 200, response.text


async def test_the_balance_after_a_run_equals_the_sum_of_recorded_usage(
    start_chat: StartChat, upstream: FakeUpstream, dynamodb: DynamoDBClient
) -> None:
    chat = start_chat()
    ledger = Ledger(chat.settings.accounts_table, dynamodb)
    usage = UsageRepository(chat.settings.usage_table, client=dynamodb)
    model = chat.models["m-openai"]
    ledger.grant(ORG, 100_000)
    upstream.script(
        model,
        Script(chunks=["One ", "two."], usage=(120, 30)),  # reported usage
        Script(chunks=["a ", "b ", "c"], usage=None),  # none reported: estimated
        Script(http_status=500),  # failed before a token: retried, nothing billed
        Script(http_status=500),
        Script(chunks=[f"w{i} " for i in range(40)], chunk_delay=0.02),  # the client leaves
        Script(chunks=["Last."], usage=(50, 2)),
    )
    for user in ("ann", "ben", "cid"):
        await stream_chat(chat, {"message": "Hello"}, user=user, org=ORG)
    await stream_chat(chat, {"message": "Stop me"}, user="ann", org=ORG, stop_after_tokens=3)
    last = await stream_chat(chat, {"message": "Bye"}, user="ben", org=ORG)
    assert last.types[-1] == "done"

    # Settling runs after the client left; wait for the cut stream's charge to land.
    def settled() -> bool:
        return 100_000 - (ledger.balance(ORG) or 0) == recorded_tokens(usage)

    for _ in range(100):
        if settled():
            break
        await anyio.sleep(0.05)
    spent = 100_000 - (ledger.balance(ORG) or 0)
    assert spent == recorded_tokens(usage)
    assert spent >= 120 + 30 + 50 + 2


async def test_a_balance_that_cannot_pay_for_the_route_answers_402_and_consumes_nothing(
    chat: MemoryChat, upstream: FakeUpstream, ledger: LedgerStore
) -> None:
    ledger.grant(ORG, 500)
    before = len(upstream.requests)
    for body in (
        {"message": HARD_QUESTION, "mode": "smart"},  # 3000 output tokens held
        {"message": "Hi", "model": "m-openai", "max_tokens": 4000},
    ):
        refused = await stream_chat(chat, body, org=ORG)
        assert refused.status == 402
        error = refused.body["error"]
        assert error["code"] == "insufficient_balance"
        assert error["details"]["balance_tokens"] == 500
    assert len(upstream.requests) == before
    assert ledger.balance(ORG) == 500
    assert recorded_tokens(chat.stores.usage) == 0


async def test_auto_mode_routes_to_the_cheap_chain_with_what_the_balance_can_pay(
    chat: MemoryChat, upstream: FakeUpstream, ledger: LedgerStore
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["Short."], usage=(80, 2)))
    ledger.grant(ORG, 600)  # above the low-balance threshold, below a heavy route's hold
    streamed = await stream_chat(chat, {"message": HARD_QUESTION}, org=ORG)
    assert streamed.types[-1] == "done", streamed.events
    route = streamed.events[0]["route"]
    assert (route["mode"], route["route"]) == ("auto", "cheap")
    assert route["max_tokens"] < 600
    assert "balance cannot pay" in route["reason"]
    sent = upstream.requests_for(chat.models["m-openai"])[-1].body
    assert sent["max_completion_tokens"] == route["max_tokens"]
    assert ledger.balance(ORG) == 600 - 82


async def test_a_low_balance_sends_auto_to_the_cheap_chain(
    chat: MemoryChat, upstream: FakeUpstream, ledger: LedgerStore
) -> None:
    ledger.grant(ORG, 150)
    upstream.script(chat.models["m-openai"], Script(chunks=["ok"], usage=(10, 1)))
    streamed = await stream_chat(chat, {"message": "Hi", "max_tokens": 20}, org=ORG)
    route = streamed.events[0]["route"]
    assert route["route"] == "cheap"
    assert "balance 150 tokens is below 200" in route["reason"]


async def test_the_daily_spend_cap_stops_a_user_until_midnight_utc(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await patch_settings(chat, {"daily_spend_cap_usd": 0.01})
    upstream.script(chat.models["m-openai"], Script(chunks=["ok"], usage=(10, 1)))
    # A heavy answer would cost more than the whole cap: refused before any call.
    refused = await stream_chat(chat, {"message": "Hi", "max_tokens": 2000}, org=ORG)
    assert refused.status == 429
    assert refused.body["error"]["code"] == "spend_cap_reached"
    assert 0 < int(refused.headers["retry-after"]) <= 86_400
    allowed = await stream_chat(chat, {"message": "Hi", "max_tokens": 10}, org=ORG)
    assert allowed.types[-1] == "done"


async def test_an_unmetered_org_without_a_cap_writes_nothing_to_the_ledger(
    chat: MemoryChat, upstream: FakeUpstream, ledger: LedgerStore
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["ok"], usage=(1000, 100)))
    streamed = await stream_chat(chat, {"message": "Hi"}, user="dee", org="free-org")
    assert streamed.types[-1] == "done"
    assert ledger.balance("free-org") is None
    assert ledger.spent_today("free-org", "dee") == 0
    async with chat.client() as client:
        budget = await client.get("/v1/org/budget", headers=bearer("dee", org_id="free-org"))
    assert (budget.json()["metered"], budget.json()["spent_today_usd"]) == (False, None)


async def test_a_capped_unmetered_org_counts_each_users_spend(
    chat: MemoryChat, upstream: FakeUpstream, ledger: LedgerStore
) -> None:
    await patch_settings(chat, {"daily_spend_cap_usd": 5})
    upstream.script(chat.models["m-openai"], Script(chunks=["ok"], usage=(1000, 100)))
    streamed = await stream_chat(chat, {"message": "Hi"}, user="dee", org=ORG)
    cost = streamed.events[-1]["cost_usd"]
    assert ledger.balance(ORG) is None
    assert ledger.spent_today(ORG, "dee") == pytest.approx(cost)
    async with chat.client() as client:
        budget = await client.get("/v1/org/budget", headers=bearer("dee", org_id=ORG))
    assert budget.json()["spent_today_usd"] == pytest.approx(cost)
