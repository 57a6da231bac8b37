"""The OpenAI adapter's tools, images and structured output against the fake upstream: the
request body in Chat Completions' exact shape, tool calls streamed back as Parley's fragments,
and the fake itself speaking OpenAI's tool wire format (read by the official SDK's types)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import openai
import pytest

from parley.providers.base import (
    ChatMessage,
    Finish,
    GenerationRequest,
    ImagePart,
    ResponseSchema,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
)
from parley.providers.errors import ProviderError, ProviderStreamError, ProviderUnavailable
from tests.fakes.openai_wire import OpenAIReply
from tests.fakes.upstreams import FakeToolCall, FakeUpstream, Script
from tests.support.adapters import adapter_registry, adapter_spec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from parley.providers.base import StreamEvent
    from parley.providers.catalog import ModelSpec
    from parley.providers.registry import ProviderRegistry

pytestmark = pytest.mark.anyio

PROVIDERS = ["openai", "openai_compatible"]

WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city now.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
CLOCK = ToolSpec(name="get_time")  # no description, no parameters

ASK = [ChatMessage("user", "Weather in Paris and Rome?")]


@pytest.fixture
async def registry() -> AsyncIterator[ProviderRegistry]:
    async for built in adapter_registry():
        yield built


def spec_for(upstream: FakeUpstream, provider: str, model: str) -> ModelSpec:
    return adapter_spec(
        upstream, provider, f"openai-cap-{provider}-{model}", name=f"{provider}-{model}"
    )


async def collect(
    registry: ProviderRegistry,
    spec: ModelSpec,
    request: GenerationRequest,
    *,
    into: list[StreamEvent],
) -> None:
    """The stream's events into ``into``, kept there when the stream then fails."""
    async for event in registry.provider_for(spec).stream(spec, request):
        into.append(event)


async def events_of(
    registry: ProviderRegistry, spec: ModelSpec, request: GenerationRequest
) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    await collect(registry, spec, request, into=events)
    return events


def sent_body(upstream: FakeUpstream, spec: ModelSpec) -> dict[str, Any]:
    """The body the fake received, checked against the real API's refusals on the way."""
    body: dict[str, Any] = upstream.requests_for(spec.model)[-1].body
    assert OpenAIReply(spec.model, body, Script()).refusal() is None
    return body


# --- tool calls streamed back --------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_streamed_tool_call_arrives_as_fragments_and_finishes_with_tool_calls(
    provider: str, upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # GIVEN a model that says a few words, then calls one function
    spec = spec_for(upstream, provider, "one-call")
    call = FakeToolCall("get_weather", {"city": "Paris"}, id="call_paris")
    upstream.script(spec.model, Script(chunks=["Checking."], tool_calls=[call], usage=(30, 9)))
    # WHEN the adapter streams the answer
    events = await events_of(registry, spec, GenerationRequest(ASK, tools=(WEATHER,)))
    # THEN the text, the call's opening (id, name), its argument pieces in order, the finish
    assert events[:2] == [
        TextDelta("Checking."),
        ToolCallDelta(0, id="call_paris", name="get_weather", arguments=""),
    ]
    assert events[2:-1] == [ToolCallDelta(0, arguments=piece) for piece in call.fragments()]
    assert len(events[2:-1]) == 3
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == (
        '{"city":"Paris"}'
    )
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.finish_reason == "tool_calls"
    assert (finish.usage.input_tokens, finish.usage.output_tokens) == (30, 9)


async def test_two_parallel_calls_keep_their_own_indexes(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "openai", "two-calls")
    paris = FakeToolCall("get_weather", {"city": "Paris"}, id="call_a")
    rome = FakeToolCall("get_weather", {"city": "Rome"}, id="call_b")
    upstream.script(spec.model, Script(chunks=[], tool_calls=[paris, rome]))
    events = await events_of(registry, spec, GenerationRequest(ASK, tools=(WEATHER,)))
    assert events[:-1] == [
        ToolCallDelta(0, id="call_a", name="get_weather"),
        *(ToolCallDelta(0, arguments=piece) for piece in paris.fragments()),
        ToolCallDelta(1, id="call_b", name="get_weather"),
        *(ToolCallDelta(1, arguments=piece) for piece in rome.fragments()),
    ]
    assert isinstance(events[-1], Finish)
    assert events[-1].finish_reason == "tool_calls"


async def test_a_tool_call_cut_inside_its_arguments_is_a_broken_stream(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # GIVEN a stream dropped after the first piece of a call's arguments
    spec = spec_for(upstream, "openai", "cut-call")
    call = FakeToolCall("get_weather", {"city": "Paris"}, id="call_cut")
    upstream.script(spec.model, Script(chunks=["So"], tool_calls=[call], cut_in_tool_call=1))
    seen: list[StreamEvent] = []
    # WHEN the adapter reads it
    with pytest.raises(ProviderError) as raised:
        await collect(registry, spec, GenerationRequest(ASK), into=seen)
    # THEN what came before the cut came, and no Finish: the stream broke
    assert isinstance(raised.value, ProviderStreamError | ProviderUnavailable)
    assert seen == [
        TextDelta("So"),
        ToolCallDelta(0, id="call_cut", name="get_weather"),
        ToolCallDelta(0, arguments=call.fragments()[0]),
    ]


# --- the request body ----------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_plain_text_request_sends_the_same_body_as_before(
    provider: str, upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, provider, "plain")
    upstream.script(spec.model, Script())
    request = GenerationRequest(
        [ChatMessage("user", "Hi"), ChatMessage("assistant", "Hello!"), ChatMessage("user", "?")],
        system="Be brief.",
        max_tokens=64,
        temperature=0.5,
    )
    await events_of(registry, spec, request)
    budget = "max_tokens" if provider == "openai_compatible" else "max_completion_tokens"
    assert sent_body(upstream, spec) == {
        "model": spec.model,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "?"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        budget: 64,
        "temperature": 0.5,
    }


async def test_a_history_with_calls_and_results_is_sent_in_openais_shape(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # GIVEN a conversation where the model called two tools, got their results, answered,
    # and was then asked something else
    spec = spec_for(upstream, "openai", "history")
    upstream.script(spec.model, Script())
    calls = (
        ToolCall("call_1", "get_weather", '{"city":"Paris"}'),
        ToolCall("call_2", "get_weather", '{"city":"Rome"}'),
    )
    history = [
        ChatMessage("user", "Weather in Paris and Rome?"),
        ChatMessage("assistant", "", tool_calls=calls),
        ChatMessage("tool", '{"c":18}', tool_call_id="call_1", name="get_weather"),
        ChatMessage("tool", '{"c":24}', tool_call_id="call_2", name="get_weather"),
        ChatMessage("assistant", "Paris 18°C, Rome 24°C."),
        ChatMessage("user", "And Oslo? Say first what you do."),
        ChatMessage("assistant", "Asking.", tool_calls=(ToolCall("call_3", "get_weather", "{}"),)),
        ChatMessage("tool", "unknown city", tool_call_id="call_3"),
    ]
    # WHEN it is sent
    await events_of(registry, spec, GenerationRequest(history, tools=(WEATHER,)))
    # THEN calls keep their ids and JSON text, results answer them by id
    assert sent_body(upstream, spec)["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"c":18}'},
        {"role": "tool", "tool_call_id": "call_2", "content": '{"c":24}'},
        {"role": "assistant", "content": "Paris 18°C, Rome 24°C."},
        {"role": "user", "content": "And Oslo? Say first what you do."},
        {
            "role": "assistant",
            "content": "Asking.",
            "tool_calls": [
                {
                    "id": "call_3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_3", "content": "unknown city"},
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_images_are_image_url_parts_after_the_text(
    provider: str, upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, provider, "images")
    upstream.script(spec.model, Script())
    images = (
        ImagePart("image/png", data="iVBORw0KGgo="),
        ImagePart("image/jpeg", url="https://example.com/cat.jpg", detail="low"),
    )
    request = GenerationRequest(
        [
            ChatMessage("user", "What are these?", images=images),
            ChatMessage("user", "", images=images[1:]),
        ]
    )
    await events_of(registry, spec, request)
    assert sent_body(upstream, spec)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What are these?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
                },
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
                },
            ],
        },
        {  # no empty text part for an image sent alone
            "role": "user",
            "content": [
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
                }
            ],
        },
    ]


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        (None, None),
        (ToolChoice("auto"), "auto"),
        (ToolChoice("none"), "none"),
        (ToolChoice("required"), "required"),
        (
            ToolChoice("function", "get_weather"),
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
    ids=["default", "auto", "none", "required", "function"],
)
async def test_tools_and_the_tool_choice_are_sent_as_function_tools(
    choice: ToolChoice | None,
    sent: object,
    upstream: FakeUpstream,
    registry: ProviderRegistry,
) -> None:
    spec = spec_for(upstream, "openai", f"choice-{getattr(choice, 'mode', 'default')}")
    upstream.script(spec.model, Script())
    strict = ToolSpec("lookup", parameters={"type": "object"}, strict=True)
    request = GenerationRequest(ASK, tools=(WEATHER, CLOCK, strict), tool_choice=choice)
    await events_of(registry, spec, request)
    body = sent_body(upstream, spec)
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city now.",
                "parameters": WEATHER.parameters,
            },
        },
        {
            "type": "function",
            "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
        },
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object"}, "strict": True},
        },
    ]
    if sent is None:
        assert "tool_choice" not in body
    else:
        assert body["tool_choice"] == sent
    assert "parallel_tool_calls" not in body  # None: the API's default


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("parallel", [False, True])
async def test_parallel_tool_calls_is_sent_when_set(
    provider: str, parallel: bool, upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, provider, f"parallel-{parallel}")
    upstream.script(spec.model, Script())
    request = GenerationRequest(ASK, tools=(WEATHER,), parallel_tool_calls=parallel)
    await events_of(registry, spec, request)
    body = sent_body(upstream, spec)
    assert body["parallel_tool_calls"] is parallel
    assert "tool_choice" not in body


async def test_how_to_use_tools_is_not_sent_without_tools(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # OpenAI refuses tool_choice and parallel_tool_calls in a request without tools.
    spec = spec_for(upstream, "openai", "no-tools")
    upstream.script(spec.model, Script())
    request = GenerationRequest(ASK, tool_choice=ToolChoice("required"), parallel_tool_calls=False)
    await events_of(registry, spec, request)
    assert {"tools", "tool_choice", "parallel_tool_calls"}.isdisjoint(sent_body(upstream, spec))


SCHEMA = ResponseSchema(
    name="weather",
    schema={"type": "object", "properties": {"c": {"type": "number"}}, "required": ["c"]},
    strict=True,
)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_response_schema_is_structured_output(
    provider: str, upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # a schema wins over plain JSON mode when both are asked for
    spec = spec_for(upstream, provider, "schema")
    upstream.script(spec.model, Script(chunks=['{"c":18}']))
    events = await events_of(
        registry, spec, GenerationRequest(ASK, response_schema=SCHEMA, json_object=True)
    )
    assert events[0] == TextDelta('{"c":18}')
    assert sent_body(upstream, spec)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "weather", "schema": SCHEMA.schema, "strict": True},
    }


async def test_a_response_schema_carries_its_description(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "openai", "schema-described")
    upstream.script(spec.model, Script())
    described = ResponseSchema("w", {"type": "object"}, description="The weather.")
    await events_of(registry, spec, GenerationRequest(ASK, response_schema=described))
    assert sent_body(upstream, spec)["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "w",
            "schema": {"type": "object"},
            "strict": False,
            "description": "The weather.",
        },
    }


@pytest.mark.parametrize(("provider", "sent"), [("openai", True), ("openai_compatible", False)])
async def test_json_mode_is_as_before(
    provider: str, sent: bool, upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, provider, "json-object")
    upstream.script(spec.model, Script())
    await events_of(registry, spec, GenerationRequest(ASK, json_object=True))
    body = sent_body(upstream, spec)
    assert body.get("response_format") == ({"type": "json_object"} if sent else None)


# --- the fake speaks OpenAI's tool wire format ---------------------------------------------


def sdk(upstream: FakeUpstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-fake", base_url=upstream.openai_base_url, max_retries=0)


async def test_the_fakes_streamed_calls_read_as_the_sdks_typed_chunks(
    upstream: FakeUpstream,
) -> None:
    model = "openai-cap-sdk-stream"
    calls = [FakeToolCall("get_weather", {"city": "Paris"}), FakeToolCall("get_time", {})]
    upstream.script(model, Script(chunks=[], tool_calls=calls))
    deltas: list[Any] = []
    finish = None
    async with sdk(upstream) as client:
        stream = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "?"}], stream=True
        )
        async for chunk in stream:
            for choice in chunk.choices:
                deltas += choice.delta.tool_calls or []
                finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    openings = [d for d in deltas if d.id is not None]
    assert [(d.index, d.type, d.function.name) for d in openings] == [
        (0, "function", "get_weather"),
        (1, "function", "get_time"),
    ]
    assert all(d.id.startswith("call_") for d in openings)
    arguments = {i: "".join(d.function.arguments for d in deltas if d.index == i) for i in (0, 1)}
    assert arguments == {0: '{"city":"Paris"}', 1: "{}"}


async def test_the_fakes_whole_answer_holds_the_calls_and_no_content(
    upstream: FakeUpstream,
) -> None:
    model = "openai-cap-sdk-whole"
    call = FakeToolCall("get_weather", {"city": "Rome"}, id="call_rome")
    upstream.script(model, Script(chunks=[], tool_calls=[call]))
    async with sdk(upstream) as client:
        answer = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "?"}]
        )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    [made] = choice.message.tool_calls
    assert made.type == "function"
    assert (made.id, made.function.name) == ("call_rome", "get_weather")
    assert json.loads(made.function.arguments) == {"city": "Rome"}


def refusal(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    refused = OpenAIReply("m", {"messages": messages}, Script()).refusal()
    if refused is None:
        return None
    status, body = refused
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    return body["error"]  # type: ignore[no-any-return]


CALLED = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": "{}"}},
    ],
}
USER = {"role": "user", "content": "?"}


def answer(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "ok"}


def test_the_fake_takes_calls_answered_in_any_order() -> None:
    assert refusal([USER, CALLED, answer("call_2"), answer("call_1"), USER]) is None


def test_the_fake_refuses_a_tool_result_without_its_call() -> None:
    error = refusal([USER, {"role": "assistant", "content": "hi"}, answer("call_1")])
    assert error is not None
    assert "must be a response to a preceeding message with 'tool_calls'" in error["message"]
    assert error["param"] == "messages.[2].role"
    error = refusal([USER, CALLED, answer("call_1"), answer("call_9")])
    assert error is not None
    assert error["param"] == "messages.[3].role"


@pytest.mark.parametrize(
    "messages",
    [[USER, CALLED, answer("call_1"), USER], [USER, CALLED, answer("call_1")]],
    ids=["followed-by-a-user", "at-the-end"],
)
def test_the_fake_refuses_calls_left_unanswered(messages: list[dict[str, Any]]) -> None:
    error = refusal(messages)
    assert error is not None
    assert error["message"].endswith("did not have response messages: call_2")
    assert error["param"] == "messages.[1].role"


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://example.com/a.png", False),
        ("http://example.com/a.png", False),
        ("data:image/png;base64,AAAA", False),
        ("iVBORw0KGgo=", True),
        ("ftp://example.com/a.png", True),
    ],
)
def test_the_fake_refuses_image_urls_it_cannot_fetch(url: str, refused: bool) -> None:
    part = {"type": "image_url", "image_url": {"url": url}}
    error = refusal([{"role": "user", "content": [{"type": "text", "text": "?"}, part]}])
    assert (error is not None) is refused
    if error is not None:
        assert error["param"] == "messages[0].content[1].image_url.url"
        assert error["code"] == "invalid_value"
