"""The OpenAI-compatible API driven by the official openai client, with a Parley token as its
API key, against the chat app in-process (memory stores, the fake upstreams)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import openai
import pytest

from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import BASE_URL, bearer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.support.chat import MemoryChat


pytestmark = pytest.mark.anyio


def sdk_for(chat: MemoryChat, api_key: str) -> openai.AsyncOpenAI:
    """The official client, talking to the app in-process (its HTTP client is httpx's)."""
    return openai.AsyncOpenAI(
        api_key=api_key, base_url=f"{BASE_URL}/v1", http_client=chat.client(), max_retries=0
    )


@pytest.fixture
async def client(chat: MemoryChat) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = sdk_for(chat, bearer("sdk-user")["Authorization"].removeprefix("Bearer "))
    yield sdk
    await sdk.close()


async def test_a_streamed_completion_with_usage(
    client: openai.AsyncOpenAI, chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["Hel", "lo", "!"], usage=(8, 3)))
    stream = await client.chat.completions.create(
        model="m-openai",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = [], None, None
    async for chunk in stream:
        assert chunk.model == "m-openai"
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert "".join(text) == "Hello!"
    assert finish == "stop"
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (8, 3, 11)


async def test_a_whole_completion(
    client: openai.AsyncOpenAI, chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-anthropic"], Script(chunks=["Bonjour", " !"], usage=(6, 2)))
    completion = await client.chat.completions.create(
        model="m-anthropic", messages=[{"role": "user", "content": "Greet me in French"}]
    )
    assert completion.choices[0].message.content == "Bonjour !"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 8
    assert completion.model == "m-anthropic"


async def test_the_clients_system_prompt_and_history_reach_the_model(
    client: openai.AsyncOpenAI, chat: MemoryChat, upstream: FakeUpstream
) -> None:
    model = chat.models["m-compat"]
    upstream.script(model, Script(chunks=["Green."]))
    await client.chat.completions.create(
        model="m-compat",
        messages=[
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Sky colour?"},
            {"role": "assistant", "content": "Blue."},
            {"role": "user", "content": [{"type": "text", "text": "Grass colour?"}]},
        ],
        temperature=0.2,
        max_tokens=10,
    )
    body = upstream.requests_for(model)[-1].body
    assert body["messages"] == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Sky colour?"},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Grass colour?"},
    ]
    assert (body["temperature"], body["max_tokens"]) == (0.2, 10)


async def test_virtual_models_choose_by_mode(
    client: openai.AsyncOpenAI, chat: MemoryChat, upstream: FakeUpstream
) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=["routed"]))
    budgets = {}
    for virtual in ("auto", "cheap", "smart"):
        answer = await client.chat.completions.create(
            model=virtual, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.model == "m-openai"  # every route of the test catalog is this model
        budgets[virtual] = upstream.requests_for(model)[-1].body["max_completion_tokens"]
    # The mode chose the route: light's budget for a greeting and for cheap, heavy's for smart.
    assert budgets == {"auto": 800, "cheap": 800, "smart": 3000}


async def test_a_failed_call_is_an_error_status_never_an_empty_success(
    client: openai.AsyncOpenAI, chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(http_status=503))
    with pytest.raises(openai.APIStatusError) as raised:
        await client.chat.completions.create(
            model="m-openai", messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.status_code == 502
    assert "503" in raised.value.message


async def test_a_stream_that_breaks_raises_in_the_client(
    client: openai.AsyncOpenAI, chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["a", "b", "c"], error_after=1))
    stream = await client.chat.completions.create(
        model="m-openai", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    received: list[str] = []

    async def read() -> None:
        async for chunk in stream:
            received.extend(c.delta.content for c in chunk.choices if c.delta.content)

    with pytest.raises(openai.APIError, match="mid-stream"):
        await read()
    assert received == ["a"]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "assistant", "content": "I spoke last"}],
        [{"role": "user", "content": ""}],
    ],
)
async def test_requests_parley_cannot_serve_are_422(
    client: openai.AsyncOpenAI, messages: list[dict[str, str]]
) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        await client.chat.completions.create(model="m-openai", messages=messages)  # type: ignore[arg-type]


async def test_more_than_one_choice_is_422(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        await client.chat.completions.create(
            model="m-openai", messages=[{"role": "user", "content": "hi"}], n=2
        )


async def test_a_bad_key_is_401(chat: MemoryChat) -> None:
    sdk = sdk_for(chat, "sk-not-a-parley-token")
    with pytest.raises(openai.AuthenticationError):
        await sdk.models.list()
    await sdk.close()


async def test_the_model_list_is_readable_by_the_client(client: openai.AsyncOpenAI) -> None:
    ids = [model.id async for model in client.models.list()]
    assert {"auto", "cheap", "smart", "m-openai"} <= set(ids)


async def test_compatible_calls_store_no_conversation_but_record_usage(
    client: openai.AsyncOpenAI, chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["x"], usage=(4, 1)))
    await client.chat.completions.create(
        model="m-openai", messages=[{"role": "user", "content": "hi"}]
    )
    async with chat.client() as http:
        listed = await http.get("/v1/conversations", headers=bearer("sdk-user"))
    assert listed.json()["conversations"] == []
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    usage = chat.stores.usage.for_org_day("default", today)
    assert [(e.endpoint, e.user_id, e.input_tokens, e.conversation_id) for e in usage] == [
        ("completions", "sdk-user", 4, None)
    ]
