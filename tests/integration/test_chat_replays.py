"""Answers given again without a provider call: the response cache for deterministic requests,
and Idempotency-Key retries, through the chat API (in-process, on memory stores)."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING

import anyio
import pytest

from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer
from tests.support.chat import MemoryChat, stream_chat

if TYPE_CHECKING:
    import httpx

    from parley.state.usage import UsageEvent


pytestmark = pytest.mark.anyio


ANSWER = [
    "Paris ",
    "is ",
    "the ",
    "capital ",
    "of ",
    "France, ",
    "and ",
    "has ",
    "been ",
    "so ",
    "long.",
]


def usage_events(chat: MemoryChat, org: str = "default") -> list[UsageEvent]:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return chat.stores.usage.for_org_day(org, today)


async def test_a_deterministic_request_is_served_from_the_cache_without_the_upstream(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=ANSWER, usage=(20, 11)))
    body = {"message": "Capital of France?", "temperature": 0}
    first = await stream_chat(chat, body)
    assert first.events[-1]["cached"] is False
    calls = len(upstream.requests)

    again = await stream_chat(chat, body, user="someone-else")

    assert len(upstream.requests) == calls  # the upstream was not touched
    assert again.types[0] == "meta"
    assert again.types[-1] == "done"
    assert len(again.of("token")) > 1  # replayed as a stream, not one blob
    assert again.text == first.text == "".join(ANSWER)
    done = again.events[-1]
    assert (done["cached"], done["cost_usd"], done["model"]) == (True, 0.0, "m-openai")
    assert again.events[0]["route"]["reason"].startswith("cached answer")
    cached = [e for e in usage_events(chat) if e.cached]
    assert [(e.input_tokens, e.output_tokens, e.cost_usd) for e in cached] == [(0, 0, 0.0)]
    # The conversation is kept like any other.
    async with chat.client() as client:
        conversation = await client.get(
            f"/v1/conversations/{again.events[0]['conversation_id']}",
            headers=bearer("someone-else"),
        )
    assert [m["content"] for m in conversation.json()["messages"]] == [
        "Capital of France?",
        "".join(ANSWER),
    ]


async def test_only_deterministic_or_marked_requests_are_cached(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=ANSWER, usage=(20, 11)))
    calls = len(upstream.requests)
    for _ in range(2):
        await stream_chat(chat, {"message": "Tell me a joke", "temperature": 0.9})
    assert len(upstream.requests) == calls + 2
    for _ in range(2):
        await stream_chat(chat, {"message": "Tell me a joke", "cache": True})
    assert len(upstream.requests) == calls + 3


async def test_an_org_can_turn_the_cache_off_and_orgs_never_share_answers(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=ANSWER, usage=(20, 11)))
    body = {"message": "Capital of France?", "temperature": 0}
    await stream_chat(chat, body, org="org-a")
    calls = len(upstream.requests)
    await stream_chat(chat, body, org="org-b")
    assert len(upstream.requests) == calls + 1  # another org: a miss
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings",
            json={"cache": {"enabled": False}},
            headers=bearer("admin", org_id="org-a", scopes="org:manage"),
        )
    assert response.status_code == 200
    await stream_chat(chat, body, org="org-a")
    assert len(upstream.requests) == calls + 2


async def test_a_failed_answer_is_never_cached(chat: MemoryChat, upstream: FakeUpstream) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=["half"], error_after=1), Script(chunks=["whole"]))
    body = {"message": "Fragile?", "temperature": 0}
    broken = await stream_chat(chat, body)
    assert broken.types[-1] == "error"
    healed = await stream_chat(chat, body)
    assert (healed.text, healed.events[-1]["cached"]) == ("whole", False)


async def test_an_idempotent_retry_replays_the_answer_and_is_charged_once(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=ANSWER, usage=(20, 11)))
    org = "idem-org"
    ledger = chat.stores.ledger
    ledger.grant(org, 50_000)
    key = {"Idempotency-Key": "retry-1"}
    body = {"message": "Once only", "temperature": 0.7}
    first = await stream_chat(chat, body, org=org, headers=key)
    balance, calls = ledger.balance(org), len(upstream.requests)

    retried = await stream_chat(chat, body, org=org, headers=key)

    assert len(upstream.requests) == calls
    assert ledger.balance(org) == balance
    assert retried.text == first.text
    assert retried.events[0]["message_id"] == first.events[0]["message_id"]
    assert retried.events[-1]["replayed"] is True
    assert retried.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len([e for e in usage_events(chat, org)]) == 1
    # The same key with another body is the client's mistake; another user's key is theirs.
    reused = await stream_chat(chat, {"message": "Different"}, org=org, headers=key)
    assert (reused.status, reused.body["error"]["code"]) == (422, "idempotency_key_reused")
    other = await stream_chat(chat, body, org=org, user="user-2", headers=key)
    assert other.events[-1]["replayed"] is False


async def test_a_retry_while_the_first_is_running_is_409_with_retry_after(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["slow ", "answer"], chunk_delay=0.5))
    key = {"Idempotency-Key": "running"}
    body = {"message": "Slow please"}
    results = {}

    async def first() -> None:
        results["first"] = await stream_chat(chat, body, headers=key)

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        await anyio.sleep(0.2)
        results["second"] = await stream_chat(chat, body, headers=key)
    second = results["second"]
    assert (second.status, second.body["error"]["code"]) == (409, "idempotency_in_progress")
    assert int(second.headers["retry-after"]) >= 1
    assert results["first"].types[-1] == "done"


async def test_a_failed_request_releases_its_key_so_the_retry_runs(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script(http_status=500), Script(http_status=500), Script(chunks=["ok"]))
    key = {"Idempotency-Key": "after-failure"}
    failed = await stream_chat(chat, {"message": "Try"}, headers=key)
    assert failed.types[-1] == "error"
    retried = await stream_chat(chat, {"message": "Try"}, headers=key)
    assert (retried.text, retried.events[-1]["replayed"]) == ("ok", False)


async def test_a_non_streamed_completion_replays_with_the_same_body(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=ANSWER, usage=(20, 11)))
    body = {"model": "auto", "messages": [{"role": "user", "content": "Once"}]}
    headers = {**bearer("user-1"), "Idempotency-Key": "completion-1"}
    async with chat.client() as client:
        first = await client.post("/v1/chat/completions", json=body, headers=headers)
        calls = len(upstream.requests)
        again = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert len(upstream.requests) == calls
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()  # the same completion: its id and created included
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


async def test_a_streamed_completion_replays_with_the_same_id_and_created(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=ANSWER, usage=(20, 11)))
    body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "Twice"}]}
    headers = {**bearer("user-1"), "Idempotency-Key": "streamed-completion-1"}

    async def chunks(client: httpx.AsyncClient) -> tuple[httpx.Response, list[dict]]:
        response = await client.post("/v1/chat/completions", json=body, headers=headers)
        lines = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
        return response, [json.loads(line) for line in lines if line != "[DONE]"]

    async with chat.client() as client:
        first, first_chunks = await chunks(client)
        again, again_chunks = await chunks(client)
    names = {(chunk["id"], chunk["created"]) for chunk in first_chunks}
    assert len(names) == 1
    assert {(chunk["id"], chunk["created"]) for chunk in again_chunks} == names
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert "".join(
        c["choices"][0]["delta"].get("content") or "" for c in again_chunks if c["choices"]
    ) == "".join(ANSWER)
