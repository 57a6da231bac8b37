"""Tools, images and structured output through the whole chat pipeline, in-process: routing
by capability, failover that never resumes inside a tool call or hands over a structured
answer of the wrong shape, ``partial`` events, image limits and references, the cache keys
and the usage events."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.upstreams import FakeToolCall, Script
from tests.support.asgi import bearer
from tests.support.chat import stream_chat

if TYPE_CHECKING:
    import httpx

    from tests.fakes.upstreams import FakeUpstream
    from tests.support.chat import MemoryChat, StartMemoryChat

pytestmark = pytest.mark.anyio

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Er"
    "kJggg=="
)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city now.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
REPORT_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "report",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
            "required": ["city", "celsius"],
            "additionalProperties": False,
        },
    },
}
TWO_MODELS = {
    route: ["m-openai", "m-anthropic"]
    for route in ("light", "standard", "heavy", "long_context", "cheap", "smart")
}
NO_CAPABILITIES: dict[str, Any] = {}


async def complete(
    chat: MemoryChat, body: dict[str, Any], user: str = "cap-user"
) -> httpx.Response:
    async with chat.client() as client:
        return await client.post(
            "/v1/chat/completions", json=body, headers=bearer(user), timeout=30
        )


def weather_question(**extra: Any) -> dict[str, Any]:
    return {
        "model": "auto",
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [WEATHER_TOOL],
        **extra,
    }


def usage_today(chat: MemoryChat) -> list[Any]:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return chat.stores.usage.for_org_day("default", today)


# Routing by capability -----------------------------------------------------------------------


async def test_tools_to_a_chain_without_a_tool_capable_model_are_a_422_naming_one(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream
) -> None:
    chat = start_memory_chat(capabilities={"m-openai": NO_CAPABILITIES})
    before = len(upstream.requests)
    response = await complete(chat, weather_question())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "capability_unavailable"
    assert "tools" in error["message"]
    assert "m-anthropic" in error["message"]
    assert error["details"]["capabilities"] == ["tools"]
    assert error["details"]["considered"] == ["m-openai"]
    assert "m-anthropic" in error["details"]["models"]
    assert "m-openai" not in error["details"]["models"]
    assert len(upstream.requests) == before  # refused before any provider call


async def test_a_named_model_without_the_capability_is_a_422(
    start_memory_chat: StartMemoryChat,
) -> None:
    chat = start_memory_chat(capabilities={"m-gemini": {"tools": True}})
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    body = {
        "model": "m-gemini",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "What?"}, image]}],
    }
    response = await complete(chat, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "capability_unavailable"
    assert error["details"]["capabilities"] == ["vision (image/png)"]


async def test_the_chain_skips_a_model_without_vision_and_says_so(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream
) -> None:
    chat = start_memory_chat(
        routing=TWO_MODELS, capabilities={"m-openai": {"tools": True, "json_schema": True}}
    )
    upstream.script(chat.models["m-anthropic"], Script(chunks=["A red dot."]))
    streamed = await stream_chat(
        chat,
        {
            "message": "What is in this picture?",
            "attachments": [{"name": "dot.png", "content_type": "image/png", "data": PNG}],
        },
    )
    assert streamed.status == 200, streamed.body
    route = streamed.events[0]["route"]
    assert route["model"] == "m-anthropic"
    assert "skipped m-openai (no vision (image/png))" in route["reason"]
    assert "1 image" in route["reason"]
    assert streamed.text == "A red dot."
    sent = upstream.requests_for(chat.models["m-anthropic"])[-1].body
    blocks = sent["messages"][-1]["content"]
    assert {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    } in blocks
    assert upstream.requests_for(chat.models["m-openai"]) == []


# Tool calls -------------------------------------------------------------------------------------


async def test_a_tool_call_comes_back_whole_and_finishes_tool_calls(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(
        chat.models["m-openai"],
        Script(chunks=[], tool_calls=[FakeToolCall("get_weather", {"city": "Paris"})]),
    )
    response = await complete(chat, weather_question())
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    event = usage_today(chat)[-1]
    assert (event.task_type, event.finish_reason, event.success) == (
        "function_calling",
        "tool_calls",
        True,
    )


async def test_a_stream_cut_inside_a_tool_call_restarts_the_call_on_the_next_model(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream
) -> None:
    chat = start_memory_chat(routing=TWO_MODELS)
    call = FakeToolCall("get_weather", {"city": "Paris"})
    upstream.script(
        chat.models["m-openai"], Script(chunks=[], tool_calls=[call], cut_in_tool_call=1)
    )
    upstream.script(chat.models["m-anthropic"], Script(chunks=[], tool_calls=[call]))
    async with (
        chat.client() as client,
        client.stream(
            "POST",
            "/v1/chat/completions",
            json=weather_question(stream=True),
            headers=bearer("cap-user"),
        ) as response,
    ):
        lines = [line async for line in response.aiter_lines() if line.startswith("data: ")]
    chunks = [json.loads(line[6:]) for line in lines if line != "data: [DONE]"]
    fragments = [
        entry
        for chunk in chunks
        for choice in chunk["choices"]
        for entry in choice["delta"].get("tool_calls") or ()
    ]
    # One call, whole: the broken stream's half call never reached the client.
    assert {entry["index"] for entry in fragments} == {0}
    assert [entry["id"] for entry in fragments if "id" in entry] != []
    arguments = "".join(entry["function"].get("arguments", "") for entry in fragments)
    assert json.loads(arguments) == {"city": "Paris"}
    assert chunks[-1]["model"] == "m-anthropic"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert lines[-1] == "data: [DONE]"


async def test_a_model_that_ignores_a_required_tool_choice_fails_over(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream
) -> None:
    chat = start_memory_chat(routing=TWO_MODELS)
    upstream.script(chat.models["m-openai"], Script(chunks=["It is probably sunny."]))
    upstream.script(
        chat.models["m-anthropic"],
        Script(chunks=[], tool_calls=[FakeToolCall("get_weather", {"city": "Paris"})]),
    )
    response = await complete(chat, weather_question(tool_choice="required"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == "m-anthropic"
    message = answer["choices"][0]["message"]
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"
    assert message["content"] is None  # the first model's words were held, then dropped
    failed = usage_today(chat)[-2]
    assert (failed.model, failed.error_code) == ("m-openai", "invalid_model_output")


async def test_a_tool_result_may_end_the_conversation_and_reaches_the_model(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["18C and sunny in Paris."]))
    body = weather_question()
    body["messages"] += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
    ]
    response = await complete(chat, body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "18C and sunny in Paris."
    sent = upstream.requests_for(chat.models["m-openai"])[-1].body["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == "call_1"
    assert sent[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"}


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        (
            [
                {"role": "user", "content": "Hi"},
                {"role": "tool", "tool_call_id": "call_x", "content": "?"},
            ],
            "answers no tool call",
        ),
        ([{"role": "assistant", "content": "Hello"}], "last message"),
        ([{"role": "tool", "tool_call_id": "call_x", "content": "?"}], "user message"),
    ],
)
async def test_a_conversation_of_calls_that_do_not_pair_is_a_422(
    chat: MemoryChat, upstream: FakeUpstream, messages: list[dict[str, Any]], problem: str
) -> None:
    before = len(upstream.requests)
    response = await complete(chat, {"model": "auto", "messages": messages})
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["message"]
    assert len(upstream.requests) == before


async def test_tool_choice_must_name_one_of_the_tools(chat: MemoryChat) -> None:
    body = weather_question(tool_choice={"type": "function", "function": {"name": "other"}})
    response = await complete(chat, body)
    assert response.status_code == 422
    assert "other" in response.json()["error"]["message"]


# Structured output ----------------------------------------------------------------------------


async def test_an_answer_that_breaks_the_schema_fails_over_to_the_next_model(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream
) -> None:
    chat = start_memory_chat(routing=TWO_MODELS)
    upstream.script(chat.models["m-openai"], Script(chunks=['{"city": "Paris"}']))
    upstream.script(
        chat.models["m-anthropic"], Script(chunks=['{"city": ', '"Paris", "celsius": 18}'])
    )
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": "Weather in Paris as JSON"}],
        "response_format": REPORT_FORMAT,
    }
    response = await complete(chat, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == "m-anthropic"
    assert json.loads(answer["choices"][0]["message"]["content"]) == {
        "city": "Paris",
        "celsius": 18,
    }
    failed, succeeded = usage_today(chat)[-2:]
    assert (failed.model, failed.success, failed.error_code) == (
        "m-openai",
        False,
        "invalid_model_output",
    )
    assert (succeeded.model, succeeded.success) == ("m-anthropic", True)


async def test_an_answer_no_model_gets_right_is_an_error_not_a_success(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["Sunny, 18 degrees."]))
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": "Weather as JSON"}],
        "response_format": {"type": "json_object"},
    }
    response = await complete(chat, body)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "invalid_model_output"


async def test_an_invalid_schema_is_a_422_before_any_call(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    before = len(upstream.requests)
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nothing"}}}
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": "Hi"}],
        "response_format": bad,
    }
    response = await complete(chat, body)
    assert response.status_code == 422, response.text
    assert "not a valid JSON schema" in response.json()["error"]["message"]
    assert len(upstream.requests) == before


async def test_the_native_stream_sends_throttled_partial_objects_then_the_checked_answer(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    text = json.dumps(
        {"city": "Paris", "summary": "A mild and sunny afternoon " * 6, "celsius": 18}
    )
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    upstream.script(chat.models["m-openai"], Script(chunks=pieces, chunk_delay=0.01))
    schema = json.loads(json.dumps(REPORT_FORMAT))
    schema["json_schema"]["schema"]["properties"]["summary"] = {"type": "string"}
    streamed = await stream_chat(
        chat, {"message": "Weather in Paris as JSON", "response_format": schema}
    )
    assert streamed.status == 200, streamed.body
    partials = [event["object"] for event in streamed.of("partial")]
    assert 2 <= len(partials) < len(pieces)  # throttled (tests/unit/test_structured_output.py)
    assert all(isinstance(value, dict) for value in partials)
    assert partials[-1]["city"] == "Paris"
    summaries = [value.get("summary", "") for value in partials]
    assert summaries == sorted(summaries, key=len)  # the object grows as it is written
    assert len(set(summaries)) > 1
    first_token = streamed.types.index("token")
    assert streamed.types.index("partial") < first_token  # progress, then the answer
    assert json.loads(streamed.text)["celsius"] == 18
    assert streamed.types[-1] == "done"


# Images ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("data:image/bmp;base64,Qk0=", 422, "unsupported_image_type"),
        ("data:image/png;base64,not*base64", 422, "invalid_image"),
        ("ftp://example.com/cat.png", 422, "invalid_image"),
        (f"data:image/png;base64,{'A' * 4000}", 413, "image_too_large"),
    ],
)
async def test_images_are_checked_before_any_call(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream, url: str, status: int, code: str
) -> None:
    chat = start_memory_chat(max_image_bytes=1000)
    before = len(upstream.requests)
    image = {"type": "image_url", "image_url": {"url": url}}
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "What?"}, image]}],
    }
    response = await complete(chat, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert len(upstream.requests) == before


async def test_too_many_images_are_a_422(start_memory_chat: StartMemoryChat) -> None:
    chat = start_memory_chat(max_images=2)
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    body = {"model": "auto", "messages": [{"role": "user", "content": [image, image, image]}]}
    response = await complete(chat, body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_images"


async def test_an_image_is_stored_as_a_reference_and_counted_in_usage(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["A dot."]))
    streamed = await stream_chat(
        chat,
        {
            "message": "What is this?",
            "attachments": [{"name": "dot.png", "content_type": "image/png", "data": PNG}],
        },
        user="image-user",
    )
    assert streamed.status == 200, streamed.body
    from parley.auth.identity import Identity

    owner = Identity(user_id="image-user", org_id="default")
    conversation_id = streamed.events[0]["conversation_id"]
    _, messages = chat.stores.conversations.get_with_messages(owner, conversation_id)
    (attachment,) = messages[0].metadata["attachments"]
    assert attachment["image"]["media_type"] == "image/png"
    assert attachment["image"]["bytes"] == 70
    assert len(attachment["image"]["sha256"]) == 64
    assert PNG not in json.dumps(messages[0].metadata)  # never the bytes
    sent = upstream.requests_for(chat.models["m-openai"])[-1].body["messages"][-1]["content"]
    assert {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "auto"},
    } in sent
    assert usage_today(chat)[-1].images == 1


# Cache ------------------------------------------------------------------------------------------


async def test_the_cache_keys_on_the_tools(chat: MemoryChat, upstream: FakeUpstream) -> None:
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=["It is sunny."]))
    plain = {
        "model": "auto",
        "temperature": 0,
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    }
    with_tools = {**plain, "tools": [WEATHER_TOOL]}
    for body in (plain, with_tools, with_tools, plain):
        response = await complete(chat, body)
        assert response.status_code == 200, response.text
    # The second request with tools and the second without were served from the cache.
    assert len(upstream.requests_for(model)) == 2
    assert "tools" not in upstream.requests_for(model)[0].body
    assert upstream.requests_for(model)[1].body["tools"][0]["function"]["name"] == "get_weather"


async def test_an_idempotency_key_replays_the_tool_calls(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(
        chat.models["m-openai"],
        Script(chunks=[], tool_calls=[FakeToolCall("get_weather", {"city": "Rome"})]),
    )
    headers = {**bearer("replay-user"), "Idempotency-Key": "weather-rome-1"}
    answers = []
    async with chat.client() as client:
        for _ in range(2):
            response = await client.post(
                "/v1/chat/completions", json=weather_question(), headers=headers, timeout=30
            )
            assert response.status_code == 200, response.text
            answers.append(response)
    first, replay = (answer.json() for answer in answers)
    assert (
        replay["choices"][0]["message"]["tool_calls"]
        == first["choices"][0]["message"]["tool_calls"]
    )
    assert replay["choices"][0]["finish_reason"] == "tool_calls"
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert len(upstream.requests_for(chat.models["m-openai"])) == 1
