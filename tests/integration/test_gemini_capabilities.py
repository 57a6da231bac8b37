"""The Gemini adapter's tools, images and structured output, against the fake Gemini API: the
request as ``Content`` parts, tools and tool choices in Gemini's words, whole function calls
streamed back as Parley's tool-call fragments, and each call's thought signature carried in
its id and sent back with the call.

Every recorded body is also put to the fake's ``request_problem`` (the checks the real API
makes on turns, function responses and images), so a wrong mapping fails here."""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from google import genai
from google.genai import types as genai_types

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
from parley.providers.errors import (
    ProviderError,
    ProviderRequestInvalid,
    ProviderStreamError,
    ProviderUnavailable,
)
from tests.fakes.gemini_wire import request_problem, thought_signature
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
# A call id Parley gives: a generated one, then the signature (URL-safe base64) if any.
SIGNED_ID = re.compile(r"call_[0-9a-f]{24}\.(?P<signature>[A-Za-z0-9_-]+)")
UNSIGNED_ID = re.compile(r"call_[0-9a-f]{24}")
# The API's stand-in signature for calls it never signed, as it travels (base64).
SKIP = "skip_thought_signature_validator"


@pytest.fixture
async def registry() -> AsyncIterator[ProviderRegistry]:
    async for built in adapter_registry():
        yield built


def spec_for(upstream: FakeUpstream, model: str) -> ModelSpec:
    return adapter_spec(upstream, "gemini", model, name=f"gemini-{model}")


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
    assert request_problem(body) is None
    return body


async def collect(stream: AsyncIterator[StreamEvent], into: list[StreamEvent]) -> None:
    """The stream's events into ``into``, so that those before an error count too."""
    async for event in stream:
        into.append(event)


def ask(*messages: ChatMessage, **options: Any) -> GenerationRequest:
    return GenerationRequest(messages=list(messages), max_tokens=64, **options)


def unpadded_urlsafe(standard: str) -> str:
    """A standard base64 text in the alphabet and form Parley's call ids use."""
    return base64.urlsafe_b64encode(base64.b64decode(standard)).decode().rstrip("=")


def urlsafe(standard: str) -> str:
    """A standard base64 text as google-genai sends the same bytes (URL-safe, padded)."""
    return base64.urlsafe_b64encode(base64.b64decode(standard)).decode()


def gemini_id(gemini: str) -> str:
    """The id Parley gives a call Gemini gave an id of its own (and no signature)."""
    return "call_gem-" + base64.urlsafe_b64encode(gemini.encode()).decode().rstrip("=")


# --- the stream ---------------------------------------------------------------------------


async def test_a_whole_function_call_is_one_fragment_and_finishes_with_tool_calls(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "gemini-cap-one-call")
    call = FakeToolCall("get_weather", {"city": "Paris", "unit": "celsius"})
    upstream.script(spec.model, Script(chunks=[], tool_calls=[call], usage=(30, 9)))
    events = await events_of(registry, spec, ask(ChatMessage("user", "Weather in Paris?")))
    first, finish = events
    assert isinstance(first, ToolCallDelta)
    assert (first.index, first.name) == (0, "get_weather")
    assert json.loads(first.arguments) == {"city": "Paris", "unit": "celsius"}
    # The signature Gemini put on the call rides in its id.
    assert first.id is not None
    signed = SIGNED_ID.fullmatch(first.id)
    assert signed is not None
    assert signed["signature"] == unpadded_urlsafe(thought_signature(call))
    assert isinstance(finish, Finish)
    assert finish.finish_reason == "tool_calls"
    assert (finish.usage.input_tokens, finish.usage.output_tokens) == (30, 9)


async def test_parallel_calls_after_text_are_numbered_and_only_the_signed_one_carries_it(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "gemini-cap-two-calls")
    paris = FakeToolCall("get_weather", {"city": "Paris"})
    clock = FakeToolCall("now", {}, id="gemini-7")  # Gemini's own id for this one
    upstream.script(spec.model, Script(chunks=["Let me ", "check."], tool_calls=[paris, clock]))
    events = await events_of(registry, spec, ask(ChatMessage("user", "Weather and time?")))
    first_id = events[2].id if isinstance(events[2], ToolCallDelta) else None
    assert first_id is not None
    assert SIGNED_ID.fullmatch(first_id)
    assert events == [
        TextDelta("Let me "),
        TextDelta("check."),
        ToolCallDelta(0, first_id, "get_weather", '{"city":"Paris"}'),
        ToolCallDelta(1, gemini_id("gemini-7"), "now", "{}"),
        Finish("tool_calls", events[-1].usage),  # type: ignore[union-attr]
    ]


async def test_calls_without_an_id_or_signature_get_distinct_generated_ids(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "gemini-cap-generated-ids")
    calls = [FakeToolCall("now", {}), FakeToolCall("now", {}), FakeToolCall("now", {})]
    upstream.script(spec.model, Script(chunks=[], tool_calls=calls))
    events = await events_of(registry, spec, ask(ChatMessage("user", "Time, thrice.")))
    ids = [event.id for event in events if isinstance(event, ToolCallDelta)]
    assert len(set(ids)) == 3
    assert all(UNSIGNED_ID.fullmatch(str(call_id)) for call_id in ids[1:])


async def test_a_stream_cut_before_its_calls_arrive_is_an_error_not_a_clean_end(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # Gemini sends a call whole, so a cut "inside" it is the event carrying it never coming.
    spec = spec_for(upstream, "gemini-cap-cut-call")
    call = FakeToolCall("get_weather", {"city": "Paris"})
    upstream.script(spec.model, Script(chunks=["Checking."], tool_calls=[call], cut_in_tool_call=1))
    seen: list[StreamEvent] = []
    stream = registry.provider_for(spec).stream(spec, ask(ChatMessage("user", "Weather?")))
    with pytest.raises(ProviderError) as raised:
        await collect(stream, seen)
    assert isinstance(raised.value, ProviderStreamError | ProviderUnavailable)
    assert seen == [TextDelta("Checking.")]


# --- the request --------------------------------------------------------------------------


async def test_a_signed_call_goes_back_with_its_signature_and_its_result_by_name(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # GIVEN the calls Gemini made, as the client got them
    first = spec_for(upstream, "gemini-cap-round-trip-calls")
    paris = FakeToolCall("get_weather", {"city": "Paris"})
    clock = FakeToolCall("now", {}, id="gemini-7")
    upstream.script(first.model, Script(chunks=[], tool_calls=[paris, clock]))
    events = await events_of(registry, first, ask(ChatMessage("user", "Weather and time?")))
    weather_id, clock_id = [e.id for e in events if isinstance(e, ToolCallDelta)]
    assert weather_id is not None
    assert clock_id is not None
    # WHEN the client sends the calls back with their results and a further question
    history = ask(
        ChatMessage("user", "Weather and time?"),
        ChatMessage(
            "assistant",
            "Checking.",
            tool_calls=(
                ToolCall(weather_id, "get_weather", '{"city": "Paris"}'),
                ToolCall(clock_id, "now", "{}"),
            ),
        ),
        ChatMessage("tool", '{"temp_c": 21}', tool_call_id=weather_id),  # named by the call
        ChatMessage("tool", "12:00", tool_call_id=clock_id, name="now"),
        ChatMessage("user", "And tomorrow?"),
    )
    body = await body_for(upstream, registry, "gemini-cap-round-trip", history)
    # THEN the signature is back on its call (the same bytes, as google-genai encodes them),
    # Gemini's own id is back on its call and response, and the results are objects
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather and time?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Checking."},
                {
                    "functionCall": {"args": {"city": "Paris"}, "name": "get_weather"},
                    "thoughtSignature": urlsafe(thought_signature(paris)),
                },
                {"functionCall": {"id": "gemini-7", "args": {}, "name": "now"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}},
                {
                    "functionResponse": {
                        "id": "gemini-7",
                        "name": "now",
                        "response": {"result": "12:00"},
                    }
                },
                {"text": "And tomorrow?"},
            ],
        },
    ]


async def test_calls_another_provider_made_go_without_ids_and_with_the_stand_in_signature(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    # A conversation that failed over from OpenAI: its calls were never signed by Gemini.
    history = ask(
        ChatMessage("user", "Weather in Paris and Rome?"),
        ChatMessage(
            "assistant",
            "",
            tool_calls=(
                ToolCall("call_AbC123", "get_weather", '{"city": "Paris"}'),
                ToolCall("call_XyZ789", "get_weather", "not json"),
            ),
        ),
        ChatMessage("tool", "[1, 2]", tool_call_id="call_AbC123"),
        ChatMessage("tool", "", tool_call_id="call_XyZ789"),
    )
    body = await body_for(upstream, registry, "gemini-cap-foreign-calls", history)
    assert body["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"args": {"city": "Paris"}, "name": "get_weather"},
                    "thoughtSignature": SKIP,
                },
                # arguments that are not an object (an answer cut short) go as none
                {"functionCall": {"args": {}, "name": "get_weather"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "[1, 2]"}}},
                {"functionResponse": {"name": "get_weather", "response": {"result": ""}}},
            ],
        },
    ]


async def test_a_tool_result_whose_function_cannot_be_named_is_never_sent(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    spec = spec_for(upstream, "gemini-cap-unnamed-result")
    upstream.script(spec.model, Script())
    orphan = ask(ChatMessage("user", "Hi"), ChatMessage("tool", "42", tool_call_id="call_none"))
    with pytest.raises(ProviderRequestInvalid) as raised:
        await events_of(registry, spec, orphan)
    assert raised.value.caused_by_provider is False
    assert upstream.requests_for(spec.model) == []


async def test_images_from_a_data_url_and_an_https_url_follow_the_text(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n\xfb\xff\xbf").decode()  # "+" and "/" in it
    request = ask(
        ChatMessage(
            "user",
            "What is in these?",
            images=(
                ImagePart("image/png", data=data),
                ImagePart("image/jpeg", url="https://example.com/cat.jpg", detail="low"),
            ),
        ),
        ChatMessage("user", "Be brief."),
    )
    body = await body_for(upstream, registry, "gemini-cap-images", request)
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "What is in these?"},
                # google-genai sends the bytes as URL-safe base64: the image's bytes unchanged
                {"inlineData": {"data": urlsafe(data), "mime_type": "image/png"}},
                {
                    "fileData": {
                        "file_uri": "https://example.com/cat.jpg",
                        "mime_type": "image/jpeg",
                    }
                },
                {"text": "Be brief."},
            ],
        }
    ]
    sent = body["contents"][0]["parts"][1]["inlineData"]["data"]
    assert base64.urlsafe_b64decode(sent) == base64.b64decode(data)


async def test_consecutive_text_messages_of_one_side_stay_one_text_part(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    request = ask(ChatMessage("user", "Hi."), ChatMessage("user", "Name a colour."))
    body = await body_for(upstream, registry, "gemini-cap-joined-text", request)
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hi.\n\nName a colour."}]}]


@pytest.mark.parametrize(
    ("choice", "calling"),
    [
        (None, None),
        (ToolChoice("auto"), {"mode": "AUTO"}),
        (ToolChoice("none"), {"mode": "NONE"}),
        (ToolChoice("required"), {"mode": "ANY"}),
        (
            ToolChoice("function", "get_weather"),
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
    ids=["default", "auto", "none", "required", "function"],
)
async def test_tools_are_function_declarations_and_the_choice_a_calling_mode(
    upstream: FakeUpstream,
    registry: ProviderRegistry,
    choice: ToolChoice | None,
    calling: dict[str, Any] | None,
) -> None:
    request = ask(ChatMessage("user", "Weather?"), tools=(WEATHER, CLOCK), tool_choice=choice)
    model = f"gemini-cap-choice-{choice.mode if choice else 'default'}"
    body = await body_for(upstream, registry, model, request)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "description": "The weather in a city",
                    "name": "get_weather",
                    "parameters_json_schema": WEATHER.parameters,
                },
                {"name": "now", "parameters_json_schema": {"type": "object", "properties": {}}},
            ]
        }
    ]
    if calling is None:
        assert "toolConfig" not in body
    else:
        assert body["toolConfig"] == {"functionCallingConfig": calling}


async def test_asking_for_at_most_one_call_changes_nothing_gemini_has_no_such_switch(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    plain = ask(ChatMessage("user", "Weather?"), tools=(WEATHER,))
    one = ask(ChatMessage("user", "Weather?"), tools=(WEATHER,), parallel_tool_calls=False)
    assert await body_for(upstream, registry, "gemini-cap-parallel-off", one) == await body_for(
        upstream, registry, "gemini-cap-parallel-default", plain
    )


async def test_a_response_schema_is_gemini_s_own_json_schema_output(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    request = ask(
        ChatMessage("user", "Name a colour."),
        response_schema=ResponseSchema("colour", schema, strict=True),
    )
    body = await body_for(upstream, registry, "gemini-cap-schema", request)
    assert body["generationConfig"] == {
        "maxOutputTokens": 64,
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }


async def test_json_object_is_still_the_json_mime_type_alone(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    request = ask(ChatMessage("user", "Answer in JSON."), json_object=True)
    body = await body_for(upstream, registry, "gemini-cap-json-object", request)
    assert body["generationConfig"] == {
        "maxOutputTokens": 64,
        "responseMimeType": "application/json",
    }


async def test_a_plain_text_request_has_no_new_keys(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    request = GenerationRequest(
        messages=[
            ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello!"),
            ChatMessage("user", "Name a colour."),
        ],
        system="Be brief.",
        max_tokens=64,
        temperature=0.5,
    )
    body = await body_for(upstream, registry, "gemini-cap-plain", request)
    assert body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "Name a colour."}]},
        ],
        "systemInstruction": {"role": "user", "parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.5, "maxOutputTokens": 64},
    }


# --- the fake itself ------------------------------------------------------------------------


async def test_the_fakes_whole_answer_carries_the_calls_as_google_genai_reads_them(
    upstream: FakeUpstream,
) -> None:
    paris = FakeToolCall("get_weather", {"city": "Paris"})
    upstream.script("gemini-cap-whole", Script(chunks=["Checking."], tool_calls=[paris]))
    options = genai_types.HttpOptions(
        base_url=upstream.gemini_base_url, retry_options=genai_types.HttpRetryOptions(attempts=1)
    )
    client = genai.Client(api_key="gemini-fake", http_options=options)
    try:
        answer = await client.aio.models.generate_content(model="gemini-cap-whole", contents="Hi")
    finally:
        await client.aio.aclose()
    assert answer.candidates is not None
    candidate = answer.candidates[0]
    assert candidate.finish_reason == genai_types.FinishReason.STOP
    assert candidate.content is not None
    text, call = candidate.content.parts or []
    assert text.text == "Checking."
    assert call.function_call is not None
    assert (call.function_call.name, call.function_call.args) == ("get_weather", {"city": "Paris"})
    assert call.thought_signature == base64.b64decode(thought_signature(paris))
