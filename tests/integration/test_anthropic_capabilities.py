"""The Anthropic adapter's tools, images and structured output, against the fake Messages API:
the request as content blocks, tools and tool choices in Anthropic's words, and tool_use blocks
streamed back as Parley's tool-call fragments.

Every recorded body is also put to the fake's ``request_refusal`` (the checks the real API
makes on turns, tool results and images), so a wrong mapping fails here."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anthropic
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
from tests.fakes.anthropic_wire import request_refusal
from tests.fakes.upstreams import FakeToolCall, FakeUpstream, Script
from tests.support.adapters import adapter_registry, adapter_spec, events_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from parley.providers.base import StreamEvent
    from parley.providers.catalog import ModelSpec
    from parley.providers.registry import ProviderRegistry

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
CLOCK = ToolSpec(name="now")  # no description, no parameters


@pytest.fixture
async def registry() -> AsyncIterator[ProviderRegistry]:
    async for built in adapter_registry():
        yield built


def spec_for(upstream: FakeUpstream, model: str) -> ModelSpec:
    return adapter_spec(upstream, "anthropic", model, name=f"anthropic-{model}")


async def body_for(
    upstream: FakeUpstream,
    registry: ProviderRegistry,
    model: str,
    request: GenerationRequest,
) -> dict[str, Any]:
    """The body the adapter sent for ``request``, checked as the real API checks it."""
    spec = spec_for(upstream, model)
    upstream.script(spec.model, Script())
    await events_of(registry, spec, request)
    body: dict[str, Any] = upstream.requests_for(spec.model)[-1].body
    assert request_refusal(body) is None
    return body


def ask(*messages: ChatMessage, **options: Any) -> GenerationRequest:
    return GenerationRequest(messages=list(messages), max_tokens=64, **options)


def fragments_of(call: FakeToolCall, index: int) -> list[ToolCallDelta]:
    return [ToolCallDelta(index, arguments=piece) for piece in call.fragments()]


# --- the stream ---------------------------------------------------------------------------


async def test_a_tool_call_after_text_streams_as_fragments_and_finishes_with_tool_calls(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "anthropic-cap-one-call")
    call = FakeToolCall("get_weather", {"city": "Paris", "unit": "celsius"}, id="toolu_01")
    upstream.script(spec.model, Script(chunks=["Let me ", "check."], tool_calls=[call]))
    events = await events_of(registry, spec, ask(ChatMessage("user", "Weather in Paris?")))
    finish = events[-1]
    assert events[:-1] == [
        TextDelta("Let me "),
        TextDelta("check."),
        # The call is #0 although its block is #1 (the text's block is #0).
        ToolCallDelta(0, id="toolu_01", name="get_weather", arguments=""),
        *fragments_of(call, 0),
    ]
    assert isinstance(finish, Finish)
    assert finish.finish_reason == "tool_calls"
    assert (finish.usage.input_tokens, finish.usage.output_tokens) == (12, 3)
    sent = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert json.loads(sent) == call.arguments


async def test_two_parallel_calls_without_text_are_numbered_in_order(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "anthropic-cap-two-calls")
    first = FakeToolCall("get_weather", {"city": "Paris"}, id="toolu_a")
    second = FakeToolCall("get_weather", {"city": "Rome"}, id="toolu_b")
    upstream.script(spec.model, Script(chunks=[], tool_calls=[first, second]))
    events = await events_of(registry, spec, ask(ChatMessage("user", "Paris and Rome?")))
    assert events[:-1] == [
        ToolCallDelta(0, id="toolu_a", name="get_weather", arguments=""),
        *fragments_of(first, 0),
        ToolCallDelta(1, id="toolu_b", name="get_weather", arguments=""),
        *fragments_of(second, 1),
    ]
    assert isinstance(events[-1], Finish)
    assert events[-1].finish_reason == "tool_calls"


async def test_a_call_cut_inside_its_arguments_is_a_broken_stream(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "anthropic-cap-cut-call")
    call = FakeToolCall("get_weather", {"city": "Paris"}, id="toolu_cut")
    upstream.script(spec.model, Script(chunks=["On it."], tool_calls=[call], cut_in_tool_call=1))
    seen: list[StreamEvent] = []
    error: ProviderError | None = None
    try:
        async for event in registry.provider_for(spec).stream(
            spec, ask(ChatMessage("user", "Weather?"))
        ):
            seen.append(event)
    except ProviderError as exc:
        error = exc
    assert isinstance(error, ProviderStreamError | ProviderUnavailable)
    assert seen == [
        TextDelta("On it."),
        ToolCallDelta(0, id="toolu_cut", name="get_weather", arguments=""),
        fragments_of(call, 0)[0],
    ]


async def test_the_fakes_tool_stream_is_what_the_sdks_own_accumulator_reads(
    upstream: FakeUpstream,
) -> None:
    # The SDK's messages.stream() helper rebuilds the message from the events: a check that
    # the fake's block indexes, starts and stops are the real sequence.
    call = FakeToolCall("get_weather", {"city": "Oslo"}, id="toolu_sdk")
    upstream.script("anthropic-cap-sdk", Script(chunks=["Sure."], tool_calls=[call]))
    client = anthropic.AsyncAnthropic(api_key="k", base_url=upstream.anthropic_base_url)
    try:
        async with client.messages.stream(
            model="anthropic-cap-sdk",
            max_tokens=64,
            messages=[{"role": "user", "content": "Weather?"}],
        ) as stream:
            message = await stream.get_final_message()
    finally:
        await client.close()
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use"]
    tool_use = message.content[1]
    assert isinstance(tool_use, anthropic.types.ToolUseBlock)
    assert (tool_use.id, tool_use.name, tool_use.input) == (
        "toolu_sdk",
        "get_weather",
        call.arguments,
    )


# --- the request --------------------------------------------------------------------------


async def test_a_plain_text_request_has_the_same_body_as_before(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    request = GenerationRequest(
        messages=[
            ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello!"),
            ChatMessage("user", "Name a colour."),
            ChatMessage("user", "Just one."),
        ],
        system="Be brief.",
        max_tokens=64,
        temperature=0.5,
        parallel_tool_calls=False,  # no tools: nothing to say about them
        tool_choice=ToolChoice("none"),
    )
    body = await body_for(upstream, registry, "anthropic-cap-plain", request)
    assert body == {
        "model": "anthropic-cap-plain",
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Name a colour.\n\nJust one."},
        ],
        "stream": True,
        "system": "Be brief.",
    }


async def test_a_tool_call_and_its_result_go_as_tool_use_and_tool_result_blocks(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    calls = (
        ToolCall("toolu_p", "get_weather", '{"city": "Paris"}'),
        ToolCall("toolu_r", "get_weather", '{"city": "Rome"}'),
    )
    request = ask(
        ChatMessage("user", "Paris and Rome?"),
        ChatMessage("assistant", "Checking both.", tool_calls=calls),
        ChatMessage("tool", "18C", tool_call_id="toolu_p", name="get_weather"),
        ChatMessage("tool", "24C", tool_call_id="toolu_r", name="get_weather"),
        ChatMessage("user", "And which is warmer?"),
        tools=(WEATHER,),
    )
    body = await body_for(upstream, registry, "anthropic-cap-history", request)
    assert body["messages"] == [
        {"role": "user", "content": "Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking both."},
                {
                    "type": "tool_use",
                    "id": "toolu_p",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_r",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_p", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_r", "content": "24C"},
                {"type": "text", "text": "And which is warmer?"},
            ],
        },
    ]


async def test_a_history_of_calls_without_tools_declares_the_called_functions_and_allows_none(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # A client that stopped offering tools still sends the calls it made; the Messages API
    # refuses tool blocks in a request that defines no tools.
    request = ask(
        ChatMessage("user", "Paris?"),
        ChatMessage("assistant", "", tool_calls=(ToolCall("toolu_p", "get_weather", "{}"),)),
        ChatMessage("tool", "18C", tool_call_id="toolu_p", name="get_weather"),
        ChatMessage("user", "Thanks, summarise it."),
    )
    body = await body_for(upstream, registry, "anthropic-cap-no-tools", request)
    assert body["tools"] == [
        {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
    ]
    assert body["tool_choice"] == {"type": "none"}
    del body["tools"]
    assert "must define tools" in str(request_refusal(body))


async def test_a_call_without_text_whose_arguments_are_not_an_object_goes_with_empty_input(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    request = ask(
        ChatMessage("user", "Go."),
        ChatMessage(
            "assistant",
            "",
            tool_calls=(
                ToolCall("toolu_cut", "get_weather", '{"city": "Par'),  # cut off by a length limit
                ToolCall("toolu_list", "now", "[1]"),
            ),
        ),
        ChatMessage("tool", "", tool_call_id="toolu_cut"),
        ChatMessage("tool", "12:00", tool_call_id="toolu_list"),
        tools=(WEATHER, CLOCK),
    )
    body = await body_for(upstream, registry, "anthropic-cap-bad-arguments", request)
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_cut", "name": "get_weather", "input": {}},
                {"type": "tool_use", "id": "toolu_list", "name": "now", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_cut"},
                {"type": "tool_result", "tool_use_id": "toolu_list", "content": "12:00"},
            ],
        },
    ]


async def test_images_follow_the_text_as_base64_and_url_sources(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    images = (
        ImagePart("image/png", data="iVBORw0KGgo="),
        ImagePart("image/jpeg", url="https://example.com/cat.jpg", detail="high"),
    )
    request = ask(ChatMessage("user", "What are these?", images=images))
    body = await body_for(upstream, registry, "anthropic-cap-images", request)
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What are these?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            ],
        }
    ]


async def test_tools_are_declared_with_input_schemas(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    strict = ToolSpec("lookup", parameters={"type": "object", "properties": {}}, strict=True)
    request = ask(ChatMessage("user", "Hi"), tools=(WEATHER, CLOCK, strict))
    body = await body_for(upstream, registry, "anthropic-cap-tools", request)
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": WEATHER.parameters,
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
        {"name": "lookup", "input_schema": {"type": "object", "properties": {}}, "strict": True},
    ]
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        (ToolChoice("auto"), None, {"type": "auto"}),
        (ToolChoice("required"), None, {"type": "any"}),
        (ToolChoice("function", "get_weather"), None, {"type": "tool", "name": "get_weather"}),
        (ToolChoice("none"), None, {"type": "none"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (ToolChoice("required"), False, {"type": "any", "disable_parallel_tool_use": True}),
        (
            ToolChoice("function", "now"),
            False,
            {"type": "tool", "name": "now", "disable_parallel_tool_use": True},
        ),
        (ToolChoice("none"), False, {"type": "none"}),
        (ToolChoice("auto"), True, {"type": "auto"}),
    ],
    ids=repr,
)
async def test_tool_choice_in_anthropics_words(
    upstream: FakeUpstream,
    registry: ProviderRegistry,
    choice: ToolChoice | None,
    parallel: bool | None,
    expected: dict[str, Any],
) -> None:
    request = ask(
        ChatMessage("user", "Hi"),
        tools=(WEATHER, CLOCK),
        tool_choice=choice,
        parallel_tool_calls=parallel,
    )
    model = f"anthropic-cap-choice-{choice.mode if choice else 'default'}-{parallel}"
    body = await body_for(upstream, registry, model, request)
    assert body["tool_choice"] == expected


async def test_a_response_schema_uses_structured_outputs_and_streams_as_text(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    spec = spec_for(upstream, "anthropic-cap-schema")
    upstream.script(spec.model, Script(chunks=['{"colour":', '"blue"}']))
    request = ask(
        ChatMessage("user", "A colour, as JSON."),
        response_schema=ResponseSchema("colour", schema, strict=True),
    )
    events = await events_of(registry, spec, request)
    body = upstream.requests_for(spec.model)[-1].body
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "tools" not in body
    assert "tool_choice" not in body
    assert events[:-1] == [TextDelta('{"colour":'), TextDelta('"blue"}')]
    assert isinstance(events[-1], Finish)
    assert events[-1].finish_reason == "stop"
