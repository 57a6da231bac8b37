"""The chat API end to end: the whole app in-process on memory stores, the fake upstreams for
the providers. What a client sees, what is stored, and what happens when things break; what
only DynamoDB can do wrong (a missing table, a throttled write) on a real server over moto."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING

import anyio
import pytest

from parley.auth import Identity
from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer
from tests.support.chat import PROVIDERS, ChatTarget, MemoryChat, stream_chat
from tests.support.clients import TransactionsCancelled
from tests.support.hot import BrokenHotStore

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.chat import StartChat, StartMemoryChat


pytestmark = pytest.mark.anyio


async def get_json(chat: ChatTarget, path: str, user: str = "user-1") -> httpx.Response:
    async with chat.client() as client:
        return await client.get(path, headers=bearer(user))


async def test_a_stream_is_meta_then_tokens_then_done_with_usage_and_cost(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["Use ", "FLUX Pro."], usage=(100, 20)))
    streamed = await stream_chat(chat, {"message": "Best image model?"})
    assert streamed.status == 200
    assert streamed.types == ["meta", "token", "token", "done"]
    assert streamed.ids == [1, 2, 3, 4]
    meta, done = streamed.events[0], streamed.events[-1]
    assert meta["route"]["provider"] == "openai"
    assert meta["route"]["model"] == "m-openai"
    assert meta["context"] == {"message_count": 0}
    assert streamed.text == "Use FLUX Pro."
    assert done["finish_reason"] == "stop"
    assert done["usage"] == {"input_tokens": 100, "output_tokens": 20, "estimated": False}
    assert done["cost_usd"] == pytest.approx((100 * 2.0 + 20 * 10.0) / 1e6)
    assert done["message_id"] == meta["message_id"]
    assert 0 < done["ttft_ms"] <= done["latency_ms"]


@pytest.mark.parametrize("model", list(PROVIDERS))
async def test_every_provider_streams_through_the_pipeline(
    chat: MemoryChat, upstream: FakeUpstream, model: str
) -> None:
    upstream.script(chat.models[model], Script(chunks=["one ", "two"], usage=(9, 2)))
    streamed = await stream_chat(chat, {"message": "Count", "model": model})
    assert streamed.types == ["meta", "token", "token", "done"], streamed.events
    assert streamed.text == "one two"
    assert streamed.events[-1]["usage"]["output_tokens"] == 2


async def test_both_messages_are_stored_and_the_usage_event_is_recorded_once(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["Hello"], usage=(5, 1)))
    streamed = await stream_chat(
        chat,
        {"message": "Hi there", "panel": "pictures", "choices": {"defaultStyle": "watercolor"}},
    )
    conversation_id = streamed.events[0]["conversation_id"]
    response = await get_json(chat, f"/v1/conversations/{conversation_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["conversation"]["title"] == "Hi there"
    assert body["conversation"]["message_count"] == 2
    asked, answered = body["messages"]
    assert (asked["role"], asked["content"], asked["status"]) == ("user", "Hi there", "complete")
    assert asked["metadata"]["choices"] == {"defaultStyle": "watercolor"}
    assert asked["metadata"]["panel"] == "pictures"
    assert (answered["role"], answered["content"]) == ("assistant", "Hello")
    assert answered["status"] == "complete"
    assert answered["id"] == streamed.events[0]["message_id"]
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    usage = chat.stores.usage.for_org_day("default", today)
    assert len(usage) == 1
    event = usage[0]
    assert (event.user_id, event.provider, event.model) == ("user-1", "openai", "m-openai")
    assert (event.input_tokens, event.output_tokens, event.success) == (5, 1, True)
    assert event.endpoint == "stream"
    assert event.ttft_ms is not None
    assert event.conversation_id == conversation_id


async def test_a_continued_conversation_sends_its_history_to_the_model(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=["Paris."]), Script(chunks=["About 2 million."]))
    first = await stream_chat(chat, {"message": "Capital of France?"})
    conversation_id = first.events[0]["conversation_id"]
    second = await stream_chat(chat, {"message": "Population?", "conversation_id": conversation_id})
    assert second.events[0]["conversation_id"] == conversation_id
    assert second.events[0]["context"] == {"message_count": 2}
    sent = upstream.requests_for(model)[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent[1:]] == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "Population?"),
    ]


async def test_context_comes_from_the_store_when_the_cache_is_cold(
    chat: MemoryChat,
    upstream: FakeUpstream,
    start_memory_chat: StartMemoryChat,
) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=["First answer."]))
    first = await stream_chat(chat, {"message": "First question"})
    # A second app shares the stores but not the first one's in-memory cache: like another
    # Lambda environment.
    other = start_memory_chat(stores=chat.stores)
    second = await stream_chat(
        other, {"message": "Again", "conversation_id": first.events[0]["conversation_id"]}
    )
    assert second.events[0]["context"] == {"message_count": 2}
    sent = upstream.requests_for(model)[-1].body["messages"]
    assert sent[1] == {"role": "user", "content": "First question"}
    assert sent[2] == {"role": "assistant", "content": "First answer."}


async def test_only_the_last_n_messages_are_context(
    upstream: FakeUpstream,
    start_memory_chat: StartMemoryChat,
) -> None:
    chat = start_memory_chat(context_messages=3)
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=["ok"]))
    conversation_id = None
    for index in range(4):
        body = {"message": f"q{index}"}
        if conversation_id:
            body["conversation_id"] = conversation_id
        streamed = await stream_chat(chat, body)
        conversation_id = streamed.events[0]["conversation_id"]
    sent = upstream.requests_for(model)[-1].body["messages"]
    assert [m["content"] for m in sent[1:]] == ["ok", "q2", "ok", "q3"]


async def test_another_users_conversation_is_404_before_any_upstream_call(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script())
    mine = await stream_chat(chat, {"message": "private"}, user="alice")
    conversation_id = mine.events[0]["conversation_id"]
    calls = len(upstream.requests_for(model))
    stolen = await stream_chat(
        chat, {"message": "let me in", "conversation_id": conversation_id}, user="mallory"
    )
    assert stolen.status == 404
    assert stolen.body["error"]["code"] == "not_found"
    assert len(upstream.requests_for(model)) == calls
    assert (
        await get_json(chat, f"/v1/conversations/{conversation_id}", "mallory")
    ).status_code == 404
    listed = (await get_json(chat, "/v1/conversations", "mallory")).json()
    assert listed == {"conversations": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"message": "unterminated', 422, "invalid_request"),
        (b'{"message": ""}', 422, "invalid_request"),
        (b'{"message": "hi", "modle": "typo"}', 422, "invalid_request"),
        (b'{"message": "hi", "conversation_id": "not-an-id"}', 422, "invalid_request"),
        (b'{"message": "hi", "temperature": 9}', 422, "invalid_request"),
        (b'{"message": "hi", "model": "no-such-model"}', 422, "invalid_request"),
        (b'{"message": "hi", "model": "m-nokey"}', 503, "model_not_configured"),
        (json.dumps({"message": "x" * 7_000_000}).encode(), 413, "payload_too_large"),
        (json.dumps({"message": "x" * 40_000}).encode(), 422, "invalid_request"),
    ],
)
async def test_bad_requests_fail_before_any_provider_call(
    chat: MemoryChat, upstream: FakeUpstream, body: bytes, status: int, code: str
) -> None:
    before = len(upstream.requests)
    streamed = await stream_chat(chat, body)
    assert streamed.status == status
    assert streamed.body["error"]["code"] == code
    assert len(upstream.requests) == before


async def test_a_failure_before_the_first_token_is_an_error_event_and_is_recorded(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(http_status=500))
    streamed = await stream_chat(chat, {"message": "Hello?"})
    assert streamed.types == ["meta", "error"]
    assert streamed.events[1]["code"] == "upstream_unavailable"
    assert streamed.events[1]["retryable"] is True
    conversation_id = streamed.events[0]["conversation_id"]
    _, messages = chat.stores.conversations.get_with_messages(_owner("user-1"), conversation_id)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "Hello?", "complete"),
        ("assistant", "", "incomplete"),
    ]
    assert messages[1].metadata["error_code"] == "upstream_unavailable"


async def test_a_failure_mid_stream_keeps_what_was_delivered(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(
        chat.models["m-openai"], Script(chunks=["Half ", "an ", "answer"], error_after=2)
    )
    streamed = await stream_chat(chat, {"message": "Tell me"})
    assert streamed.types == ["meta", "token", "token", "error"]
    assert streamed.events[-1]["code"] == "upstream_stream_error"
    _, messages = chat.stores.conversations.get_with_messages(
        _owner("user-1"), streamed.events[0]["conversation_id"]
    )
    assert (messages[1].content, messages[1].status) == ("Half an ", "incomplete")


async def test_a_client_that_leaves_cancels_the_upstream_and_the_partial_reply_is_kept(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=[f"w{i} " for i in range(60)], chunk_delay=0.05))
    streamed = await stream_chat(chat, {"message": "Long one"}, stop_after_tokens=3)
    conversation_id = streamed.events[0]["conversation_id"]
    repository = chat.stores.conversations
    with anyio.fail_after(5):
        while model not in upstream.abandoned:
            await anyio.sleep(0.02)
        while len(repository.get_with_messages(_owner("user-1"), conversation_id)[1]) < 2:
            await anyio.sleep(0.02)
    reply = repository.get_with_messages(_owner("user-1"), conversation_id)[1][1]
    assert reply.status == "incomplete"
    assert reply.content.startswith("w0 w1 w2 ")
    assert len(reply.content.split()) < 60
    assert reply.metadata["error_code"] == "client_disconnected"


async def test_a_quiet_provider_hits_the_idle_timeout_and_the_partial_is_kept(
    upstream: FakeUpstream,
    start_memory_chat: StartMemoryChat,
) -> None:
    chat = start_memory_chat(stream_idle_timeout_seconds=0.3)
    upstream.script(
        chat.models["m-openai"], Script(chunks=["a", "b"], stall_after=1, stall_seconds=5)
    )
    with anyio.fail_after(4):
        streamed = await stream_chat(chat, {"message": "Go"})
    assert streamed.types == ["meta", "token", "error"]
    assert streamed.events[-1]["code"] == "upstream_timeout"
    assert "sent nothing for 0.3 s" in streamed.events[-1]["message"]
    _, messages = chat.stores.conversations.get_with_messages(
        _owner("user-1"), streamed.events[0]["conversation_id"]
    )
    assert (messages[1].content, messages[1].status) == ("a", "incomplete")


async def test_a_stream_longer_than_the_maximum_duration_is_ended(
    upstream: FakeUpstream,
    start_memory_chat: StartMemoryChat,
) -> None:
    chat = start_memory_chat(stream_max_seconds=0.5)
    upstream.script(chat.models["m-openai"], Script(chunks=["x"] * 40, chunk_delay=0.05))
    with anyio.fail_after(4):
        streamed = await stream_chat(chat, {"message": "Go"})
    assert streamed.types[-1] == "error"
    assert "limit" in streamed.events[-1]["message"]
    assert 3 <= len(streamed.of("token")) < 40


async def test_idle_streams_carry_heartbeats(
    upstream: FakeUpstream,
    start_memory_chat: StartMemoryChat,
) -> None:
    chat = start_memory_chat(stream_heartbeat_seconds=0.1)
    upstream.script(chat.models["m-openai"], Script(chunks=["late"], first_chunk_delay=0.6))
    streamed = await stream_chat(chat, {"message": "Go"})
    assert streamed.types == ["meta", "token", "done"]
    assert streamed.pings >= 3


async def test_no_token_is_relayed_for_a_message_that_could_not_be_stored(
    upstream: FakeUpstream,
    start_chat: StartChat,
) -> None:
    chat = start_chat(conversations_table="no-such-table")
    upstream.script(chat.models["m-openai"], Script(chunks=["never", "shown"]))
    streamed = await stream_chat(chat, {"message": "Will this be lost?"})
    assert streamed.types == ["meta", "error"]
    assert streamed.events[-1]["code"] == "configuration_error"


async def test_a_failing_hot_store_only_costs_the_cache(
    upstream: FakeUpstream,
    start_memory_chat: StartMemoryChat,
) -> None:
    chat = start_memory_chat(hot=BrokenHotStore())
    upstream.script(chat.models["m-openai"], Script(chunks=["fine"]))
    first = await stream_chat(chat, {"message": "one"})
    second = await stream_chat(
        chat, {"message": "two", "conversation_id": first.events[0]["conversation_id"]}
    )
    assert second.types == ["meta", "token", "done"]
    assert second.events[0]["context"] == {"message_count": 2}


async def test_models_lists_the_catalog_and_the_virtual_models(chat: MemoryChat) -> None:
    response = await get_json(chat, "/v1/models")
    assert response.status_code == 200
    models = {m["id"]: m for m in response.json()["data"]}
    assert {"auto", "cheap", "smart", "m-openai", "m-anthropic", "m-gemini", "local"} <= set(models)
    assert models["m-openai"]["parley"]["available"] is True
    assert models["m-nokey"]["parley"]["available"] is False
    assert models["m-anthropic"]["owned_by"] == "anthropic"
    # Each catalog model says what it takes beyond text (the test catalog declares nothing).
    assert models["local"]["parley"]["capabilities"] == {
        "tools": False,
        "vision": [],
        "json_schema": False,
    }
    assert models["m-openai"]["parley"]["max_output_tokens"] == 4096


def _owner(user: str) -> Identity:
    return Identity(user_id=user, org_id="default")


async def test_a_throttled_message_write_ends_the_stream_with_a_retryable_503(
    start_chat: StartChat, dynamodb: DynamoDBClient
) -> None:
    chat = start_chat(client=TransactionsCancelled(dynamodb, "ThrottlingError"))
    streamed = await stream_chat(chat, {"message": "Hello"})
    assert streamed.types == ["meta", "error"]
    assert (streamed.events[-1]["code"], streamed.events[-1]["retryable"]) == (
        "service_unavailable",
        True,
    )
