"""Issue 17's "done when": the official OpenAI clients, unchanged, against `parley dev`'s
``/v1/chat/completions`` with tools, images and structured output, each routed to OpenAI,
Anthropic and Gemini (one fake upstream speaking all three wire formats). The agent loop an
app runs (the model calls a tool, the app answers it, the model answers), streamed and not,
through the SDK's own helpers too; ``parse`` with a pydantic model; images; the 422 for a
model without tools; the legacy ``functions``; and the Node.js client's streamed tool call.

One fake upstream and one dev server serve the whole module. The upstream is told what each
model answers (``Script``) and records what Parley sent it, in that provider's own format,
which each test checks."""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import openai
import pytest
import yaml
from pydantic import BaseModel

from tests.conftest import REPO
from tests.fakes.gemini_wire import thought_signature
from tests.fakes.scripts import ScriptBook
from tests.fakes.upstreams import FakeToolCall, FakeUpstream, RecordedRequest, Script
from tests.support.asgi import bearer
from tests.support.chat import FULL_CAPABILITIES, unique_prefix, write_catalog
from tests.support.devserver import DevServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from openai.types.chat import ChatCompletionFunctionToolParam
    from openai.types.chat.completion_create_params import Function

ORG = "openai-compat-org"
# Catalog name -> the provider whose wire format its requests must arrive in.
PROVIDER_OF = {"m-openai": "openai", "m-anthropic": "anthropic", "m-gemini": "gemini"}
MODELS = list(PROVIDER_OF)
# An OpenAI model of the fake whose catalog entry declares no capabilities.
PLAIN = "m-plain"
# A named model whose tier chain (heavy) falls back to m-anthropic.
STRICT = "m-strict"

WEATHER_PARAMETERS: dict[str, object] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city now.",
        "parameters": WEATHER_PARAMETERS,
    },
}
WEATHER_FUNCTION: Function = {
    "name": "get_weather",
    "description": "The weather in a city now.",
    "parameters": WEATHER_PARAMETERS,
}
PARIS = FakeToolCall("get_weather", {"city": "Paris"})
RESULT = "18C and sunny"
ANSWER = "It is 18C and sunny in Paris."
CLIENT_TIMEOUT = 30.0
# Gemini's documented stand-in for a thought signature a call lost (base64 on the wire).
SKIP_SIGNATURE = "skip_thought_signature_validator"
NODE_SCRIPT = REPO / "tests/compat/streamed_tool_call.mjs"
NODE_MODULES = REPO / "tests/compat/node_modules"


class WeatherReport(BaseModel):
    city: str
    temperature_c: int
    conditions: str


REPORT = WeatherReport(city="Paris", temperature_c=18, conditions="sunny")


def tiny_png() -> bytes:
    """A real 1x1 PNG (one red RGB pixel)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = tiny_png()
PNG_B64 = base64.b64encode(PNG).decode()
PNG_URL = "https://images.example.com/photos/eiffel.png"


@dataclass
class Compat:
    server: DevServer
    upstream: FakeUpstream
    ids: dict[str, str]  # catalog name -> upstream model id

    def requests(self, model: str) -> list[RecordedRequest]:
        return self.upstream.requests_for(self.ids[model])

    def script(self, model: str, *scripts: Script) -> None:
        self.upstream.script(self.ids[model], *scripts)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


def catalog(path: Path, upstream: FakeUpstream) -> dict[str, str]:
    """write_catalog's models, and two of this module's own on the fake's OpenAI API: one
    that declares no capabilities, and one whose tier chain falls back to m-anthropic."""
    prefix = unique_prefix(__name__)
    ids = write_catalog(path, upstream, prefix)
    document = yaml.safe_load(path.read_text())
    common = {
        "provider": "openai",
        "base_url": upstream.openai_base_url,
        "api_key_env": "FAKE_KEY",
        "context_window": 100_000,
        "input_price_per_mtok": 1.0,
        "output_price_per_mtok": 4.0,
    }
    ids[PLAIN], ids[STRICT] = f"{prefix}-{PLAIN}", f"{prefix}-{STRICT}"
    document["models"] += [
        {**common, "name": PLAIN, "model": ids[PLAIN], "tier": "light", "capabilities": {}},
        {
            **common,
            "name": STRICT,
            "model": ids[STRICT],
            "tier": "heavy",
            "capabilities": FULL_CAPABILITIES,
        },
    ]
    document["routing"]["heavy"] = [STRICT, "m-anthropic"]
    path.write_text(yaml.safe_dump(document))
    return ids


@pytest.fixture(scope="module")
def compat(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compat]:
    folder = tmp_path_factory.mktemp("openai-compat")
    ids = catalog(folder / "models.yaml", upstream)
    server = DevServer(
        folder / "parley-dev.log",
        PARLEY_MODELS_FILE=str(folder / "models.yaml"),
        FAKE_KEY="fake-key",
    )
    yield Compat(server, upstream, ids)
    errors = server.errors  # tracebacks of requests that failed inside Parley
    assert server.stop() == 0
    assert errors.strip() == "", errors


@pytest.fixture(autouse=True)
def fresh_scripts(upstream: FakeUpstream) -> None:
    """Each test queues its own scripts: none a failed test left unused may answer the next."""
    upstream._scripts = ScriptBook()  # the fake has no public reset


def token_for(request: pytest.FixtureRequest) -> str:
    """A token of a user of this test's own (the per-user rate limit is then the test's)."""
    user = f"compat-{unique_prefix(request.node.nodeid)}"
    return bearer(user, org_id=ORG)["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def client(compat: Compat, request: pytest.FixtureRequest) -> Iterator[openai.OpenAI]:
    sdk = openai.OpenAI(
        api_key=token_for(request),
        base_url=f"{compat.server.url}/v1",
        max_retries=0,
        timeout=CLIENT_TIMEOUT,
    )
    yield sdk
    sdk.close()


def ask(request: pytest.FixtureRequest, text: str) -> list[Any]:
    """The conversation's first message, unique to the test (no cached answer can match)."""
    return [{"role": "user", "content": f"{text} [{request.node.nodeid}]"}]


# --- what each provider received ------------------------------------------------------------


@dataclass(frozen=True)
class SentLoop:
    """A tool call and its result as one provider's request carried them, read from that
    provider's own format."""

    call_id: str | None
    name: str
    arguments: dict[str, Any]
    result_id: str | None
    result_name: str | None
    result: Any


def sent_loop(provider: str, body: dict[str, Any], *, signed: bool = True) -> SentLoop:
    """``signed``: Gemini's call must carry the signature the fake gave it (else the API's
    documented stand-in will do: a legacy function_call has no id to carry it in)."""
    if provider == "openai":
        return _openai_loop(body)
    if provider == "anthropic":
        return _anthropic_loop(body)
    return _gemini_loop(body, signed=signed)


def _openai_loop(body: dict[str, Any]) -> SentLoop:
    # An assistant message with tool_calls, then a tool message answering it.
    messages = body["messages"]
    roles = [message["role"] for message in messages]
    assert roles[-3:] == ["user", "assistant", "tool"], roles
    assistant, tool = messages[-2], messages[-1]
    (call,) = assistant["tool_calls"]
    assert call["type"] == "function"
    return SentLoop(
        call_id=call["id"],
        name=call["function"]["name"],
        arguments=json.loads(call["function"]["arguments"]),
        result_id=tool["tool_call_id"],
        result_name=None,
        result=tool["content"],
    )


def _anthropic_loop(body: dict[str, Any]) -> SentLoop:
    # An assistant turn with a tool_use block, then a user turn opening with its tool_result.
    messages = body["messages"]
    assert [message["role"] for message in messages][-3:] == ["user", "assistant", "user"]
    assistant, user = messages[-2], messages[-1]
    uses = [block for block in assistant["content"] if block["type"] == "tool_use"]
    results = [block for block in user["content"] if block["type"] == "tool_result"]
    assert len(uses) == 1, assistant
    assert len(results) == 1, user
    assert user["content"][0]["type"] == "tool_result"
    return SentLoop(
        call_id=uses[0]["id"],
        name=uses[0]["name"],
        arguments=uses[0]["input"],
        result_id=results[0]["tool_use_id"],
        result_name=None,
        result=results[0].get("content"),
    )


def _gemini_loop(body: dict[str, Any], *, signed: bool) -> SentLoop:
    # A model turn with a functionCall part, then a user turn with a functionResponse part.
    contents = body["contents"]
    assert [content["role"] for content in contents][-3:] == ["user", "model", "user"]
    model, user = contents[-2], contents[-1]
    calls = [part for part in model["parts"] if "functionCall" in part]
    responses = [part for part in user["parts"] if "functionResponse" in part]
    assert len(calls) == 1, model
    assert len(responses) == 1, user
    # The signature Gemini put on its call went out and came back through the OpenAI client
    # (the SDK writes bytes as URL-safe base64, which the API reads as it reads standard).
    signature = base64_bytes(calls[0].get("thoughtSignature", ""))
    expected = {base64_bytes(thought_signature(PARIS))}
    if not signed:
        expected.add(base64_bytes(SKIP_SIGNATURE))
    assert signature in expected, calls[0]
    call, response = calls[0]["functionCall"], responses[0]["functionResponse"]
    return SentLoop(
        call_id=call.get("id"),
        name=call["name"],
        arguments=call["args"],
        result_id=response.get("id"),
        result_name=response["name"],
        result=response["response"],
    )


def proto_field(message: dict[str, Any], name: str) -> Any:
    """A field of a protobuf JSON message under its JSON name or its proto name, both of which
    the Gemini API reads (google-genai writes some of each)."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return message.get(name, message.get(snake))


def base64_bytes(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not, as protobuf's JSON mapping reads it."""
    return base64.urlsafe_b64decode(
        text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
    )


def check_loop_sent(compat: Compat, model: str, before: int, client_call_id: str) -> None:
    """The model's upstream got exactly the loop's two requests; the second carried the call
    and its result in that provider's own format."""
    requests = compat.requests(model)[before:]
    assert len(requests) == 2, [r.body for r in requests]
    provider = PROVIDER_OF[model]
    assert {r.provider for r in requests} == {provider}
    sent = sent_loop(provider, requests[1].body)
    assert (sent.name, sent.arguments) == ("get_weather", {"city": "Paris"})
    if provider == "gemini":
        # Gemini pairs by name; its result is an object, the text under "result".
        assert sent.result_name == "get_weather"
        assert sent.result == {"result": RESULT}
    else:
        # The id the client saw is the one the call and its result carry upstream.
        assert sent.call_id == client_call_id
        assert sent.result_id == client_call_id
        assert sent.result == RESULT


def tool_loop_scripts(compat: Compat, model: str) -> None:
    compat.script(
        model,
        Script(chunks=[], tool_calls=[PARIS], usage=(40, 8)),
        Script(chunks=["It is 18C", " and sunny", " in Paris."], usage=(60, 9)),
    )


def tool_result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": RESULT}


# --- a. the agent loop, not streamed --------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_the_weather_agent_loop_not_streamed(
    model: str, compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    # GIVEN a model that calls get_weather, then answers from its result
    tool_loop_scripts(compat, model)
    before = len(compat.requests(model))
    messages = ask(request, "What is the weather in Paris?")
    # WHEN an app asks with the tool
    first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    # THEN it gets the call, as OpenAI answers one
    assert first.model == model
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.role == "assistant"
    assert choice.message.tool_calls is not None
    assert len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # WHEN it appends the assistant's message (as the SDK gave it) and the tool's result
    messages += [choice.message, tool_result(call.id)]
    second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    # THEN the model's answer, and the provider got the call and result in its own format
    assert second.model == model
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == ANSWER
    assert not second.choices[0].message.tool_calls
    check_loop_sent(compat, model, before, call.id)


# --- b. the agent loop, streamed ------------------------------------------------------------


@dataclass
class Accumulated:
    """A streamed answer put together from its deltas, as apps do."""

    text: str
    calls: list[dict[str, str]]
    finish_reason: str | None
    models: set[str]


def accumulate(chunks: Any) -> Accumulated:
    text, finish, models = "", None, set()
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        models.add(chunk.model)
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for delta in choice.delta.tool_calls or ():
                call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += delta.id or ""
                if delta.function is not None:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
            finish = choice.finish_reason or finish
    return Accumulated(text, [calls[index] for index in sorted(calls)], finish, models)


@pytest.mark.parametrize("model", MODELS)
def test_the_weather_agent_loop_streamed(
    model: str, compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    tool_loop_scripts(compat, model)
    before = len(compat.requests(model))
    messages = ask(request, "What is the weather in Paris, streamed?")
    # WHEN an app streams the question with the tool and puts the call together by index
    with client.chat.completions.create(
        model=model, messages=messages, tools=[WEATHER_TOOL], stream=True
    ) as stream:
        first = accumulate(stream)
    # THEN one whole call, finishing with tool_calls
    assert first.models == {model}
    assert first.finish_reason == "tool_calls"
    assert len(first.calls) == 1
    call = first.calls[0]
    assert call["id"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert first.text == ""
    # WHEN it answers the call and streams again
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
        ],
    }
    messages += [assistant, tool_result(call["id"])]
    with client.chat.completions.create(
        model=model, messages=messages, tools=[WEATHER_TOOL], stream=True
    ) as stream:
        second = accumulate(stream)
    # THEN the answer streams as text, and the provider got the loop in its own format
    assert second.text == ANSWER
    assert second.finish_reason == "stop"
    assert second.calls == []
    check_loop_sent(compat, model, before, call["id"])


@pytest.mark.parametrize("model", MODELS)
def test_the_sdks_stream_helper_runs_the_loop(
    model: str, compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    # client.chat.completions.stream(): the SDK's own accumulation and its typed events.
    tool_loop_scripts(compat, model)
    before = len(compat.requests(model))
    messages = ask(request, "What is the weather in Paris, with the helper?")
    with client.chat.completions.stream(
        model=model, messages=messages, tools=[WEATHER_TOOL]
    ) as stream:
        events = list(stream)
        final = stream.get_final_completion()
    done = [event for event in events if event.type == "tool_calls.function.arguments.done"]
    assert [(event.index, event.name, json.loads(event.arguments)) for event in done] == [
        (0, "get_weather", {"city": "Paris"})
    ]
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    assert len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # The helper's final message goes back into the conversation as it is.
    messages += [choice.message, tool_result(call.id)]
    with client.chat.completions.stream(
        model=model, messages=messages, tools=[WEATHER_TOOL]
    ) as stream:
        events = list(stream)
        final = stream.get_final_completion()
    assert [event.content for event in events if event.type == "content.done"] == [ANSWER]
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == ANSWER
    check_loop_sent(compat, model, before, call.id)


# --- c. structured output -------------------------------------------------------------------


def native_schema(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema the provider was asked to hold its answer to, by its own mechanism."""
    if provider == "openai":
        response_format = body["response_format"]
        assert response_format["type"] == "json_schema", response_format
        schema: dict[str, Any] = response_format["json_schema"]["schema"]
        return schema
    if provider == "anthropic":
        output_format = body["output_config"]["format"]
        assert output_format["type"] == "json_schema", output_format
        schema = output_format["schema"]
        return schema
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json", config
    schema = config["responseJsonSchema"]
    return schema


def check_report_schema(schema: dict[str, Any]) -> None:
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"city", "temperature_c", "conditions"}
    assert set(schema["required"]) == {"city", "temperature_c", "conditions"}
    assert schema["properties"]["temperature_c"]["type"] == "integer"


def report_json(report: WeatherReport) -> list[str]:
    """The report's JSON in a few pieces, as a model streams it."""
    text = report.model_dump_json()
    return [text[:10], text[10:25], text[25:]]


@pytest.mark.parametrize("model", MODELS)
def test_parse_gives_the_pydantic_model_through_the_providers_structured_output(
    model: str, compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    # GIVEN a model that answers JSON matching the schema
    compat.script(model, Script(chunks=report_json(REPORT)))
    before = len(compat.requests(model))
    # WHEN an app parses into WeatherReport
    completion = client.chat.completions.parse(
        model=model,
        messages=ask(request, "Report the weather in Paris."),
        response_format=WeatherReport,
    )
    # THEN the message's parsed is a WeatherReport
    assert completion.model == model
    message = completion.choices[0].message
    assert isinstance(message.parsed, WeatherReport)
    assert message.parsed == REPORT
    assert completion.choices[0].finish_reason == "stop"
    # AND the provider was asked for it by its own structured-output mechanism
    requests = compat.requests(model)[before:]
    assert len(requests) == 1
    check_report_schema(native_schema(PROVIDER_OF[model], requests[0].body))


def test_an_answer_that_breaks_the_schema_fails_over_to_the_next_model(
    compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    # GIVEN a named model (OpenAI) whose tier chain goes on to m-anthropic; the first answers
    # JSON without a required field (and a wrong type), the second a right report
    broken = json.dumps({"city": "Paris", "temperature_c": "warm"})
    compat.script(STRICT, Script(chunks=[broken]))
    compat.script("m-anthropic", Script(chunks=report_json(REPORT)))
    strict_before = len(compat.requests(STRICT))
    anthropic_before = len(compat.requests("m-anthropic"))
    # WHEN an app parses into WeatherReport
    completion = client.chat.completions.parse(
        model=STRICT,
        messages=ask(request, "Report the weather in Paris, strictly."),
        response_format=WeatherReport,
    )
    # THEN the wrong answer never reaches it: m-anthropic's does
    assert completion.model == "m-anthropic"
    assert completion.choices[0].message.parsed == REPORT
    assert completion.choices[0].message.content == REPORT.model_dump_json()
    strict_sent = compat.requests(STRICT)[strict_before:]
    anthropic_sent = compat.requests("m-anthropic")[anthropic_before:]
    assert len(strict_sent) == 1
    assert len(anthropic_sent) == 1
    check_report_schema(native_schema("openai", strict_sent[0].body))
    check_report_schema(native_schema("anthropic", anthropic_sent[0].body))


def test_an_answer_that_breaks_the_schema_with_nowhere_to_fail_over_is_an_error(
    compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    # GIVEN m-openai, alone in its tier's chain, answering JSON that breaks the schema
    compat.script("m-openai", Script(chunks=[json.dumps({"city": "Paris"})]))
    before = len(compat.requests("m-openai"))
    # WHEN an app parses into WeatherReport, THEN an error, not a success
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.parse(
            model="m-openai",
            messages=ask(request, "Report the weather in Paris, or fail."),
            response_format=WeatherReport,
        )
    error = raised.value
    # 502 (the model's failure, not the client's), saying what was wrong with the answer
    assert error.status_code == 502, error.body
    assert error.code == "invalid_model_output", error.body
    assert isinstance(error.body, dict)
    assert "schema" in error.body["message"], error.body
    assert "temperature_c" in error.body["message"], error.body
    assert len(compat.requests("m-openai")[before:]) == 1


# --- d. images -------------------------------------------------------------------------------


def sent_images(provider: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The last user turn's text and images, read from the provider's own format, each image
    as {"data": bytes, "media_type"} or {"url"} (and its "media_type" where Gemini has one)."""
    if provider == "openai":
        return _openai_images(body["messages"][-1]["content"])
    if provider == "anthropic":
        return _anthropic_images(body["messages"][-1]["content"])
    return _gemini_images(body["contents"][-1]["parts"])


def _openai_images(content: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    text = "".join(part["text"] for part in content if part["type"] == "text")
    images: list[dict[str, Any]] = []
    for part in content:
        if part["type"] != "image_url":
            continue
        url = part["image_url"]["url"]
        if url.startswith("data:"):
            header, data = url.split(",", 1)
            media_type = header.removeprefix("data:").removesuffix(";base64")
            images.append({"data": base64.b64decode(data), "media_type": media_type})
        else:
            images.append({"url": url})
    return text, images


def _anthropic_images(blocks: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    text = "".join(block["text"] for block in blocks if block["type"] == "text")
    images: list[dict[str, Any]] = []
    for block in blocks:
        if block["type"] != "image":
            continue
        source = block["source"]
        if source["type"] == "base64":
            data = base64.b64decode(source["data"])
            images.append({"data": data, "media_type": source["media_type"]})
        else:
            assert source["type"] == "url", source
            images.append({"url": source["url"]})
    return text, images


def _gemini_images(parts: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    text = "".join(part["text"] for part in parts if "text" in part)
    images: list[dict[str, Any]] = []
    for part in parts:
        blob, file = proto_field(part, "inlineData"), proto_field(part, "fileData")
        if blob is not None:
            data = base64_bytes(blob["data"])
            images.append({"data": data, "media_type": proto_field(blob, "mimeType")})
        elif file is not None:
            media_type = proto_field(file, "mimeType")
            images.append({"url": proto_field(file, "fileUri"), "media_type": media_type})
    return text, images


@pytest.mark.parametrize("model", MODELS)
def test_an_image_question_reaches_the_provider_in_its_own_format(
    model: str, compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    compat.script(model, Script(chunks=["A red dot", " and the Eiffel Tower."]))
    before = len(compat.requests(model))
    question = f"What is in these pictures? [{request.node.nodeid}]"
    completion = client.chat.completions.create(
        model=model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": question},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                    {"type": "image_url", "image_url": {"url": PNG_URL}},
                ],
            }
        ],
    )
    assert completion.model == model
    assert completion.choices[0].message.content == "A red dot and the Eiffel Tower."
    requests = compat.requests(model)[before:]
    assert len(requests) == 1
    text, images = sent_images(PROVIDER_OF[model], requests[0].body)
    assert text == question
    expected_url: dict[str, Any] = {"url": PNG_URL}
    if PROVIDER_OF[model] == "gemini":
        expected_url["media_type"] = "image/png"  # fileData needs its type: the name's
    assert images == [{"data": PNG, "media_type": "image/png"}, expected_url]


# --- e. a model without the capability ------------------------------------------------------


def test_tools_to_a_model_without_them_is_a_422_naming_the_capability(
    compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    before = len(compat.requests(PLAIN))
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.chat.completions.create(
            model=PLAIN,
            messages=ask(request, "What is the weather in Paris?"),
            tools=[WEATHER_TOOL],
        )
    error = raised.value
    assert error.status_code == 422
    assert error.code == "capability_unavailable", error.body
    assert isinstance(error.body, dict), error.body
    assert "tools" in error.body["message"], error.body
    details = error.body["details"]
    assert details["capabilities"] == ["tools"]
    assert details["considered"] == [PLAIN]
    # The models that have tools, each of them named in the message too; not the one named.
    capable = ["m-openai", "m-anthropic", "m-gemini", "m-compat", STRICT]
    assert sorted(details["models"]) == sorted(capable)
    for name in capable:
        assert name in error.body["message"], error.body
    assert compat.requests(PLAIN)[before:] == []  # refused before any call


# --- f. the legacy functions ----------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_legacy_functions_are_answered_with_function_call(
    model: str, compat: Compat, client: openai.OpenAI, request: pytest.FixtureRequest
) -> None:
    tool_loop_scripts(compat, model)
    before = len(compat.requests(model))
    messages = ask(request, "What is the weather in Paris, the old way?")
    first = client.chat.completions.create(
        model=model, messages=messages, functions=[WEATHER_FUNCTION]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "function_call"
    assert not choice.message.tool_calls
    assert choice.message.function_call is not None
    assert choice.message.function_call.name == "get_weather"
    assert json.loads(choice.message.function_call.arguments) == {"city": "Paris"}
    # The legacy loop: the assistant's function_call, then a function message with the result.
    messages += [
        choice.message,
        {"role": "function", "name": "get_weather", "content": RESULT},
    ]
    second = client.chat.completions.create(
        model=model, messages=messages, functions=[WEATHER_FUNCTION]
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == ANSWER
    assert second.choices[0].message.function_call is None
    requests = compat.requests(model)[before:]
    assert len(requests) == 2
    sent = sent_loop(PROVIDER_OF[model], requests[1].body, signed=False)
    assert (sent.name, sent.arguments) == ("get_weather", {"city": "Paris"})
    assert sent.call_id == sent.result_id  # the result is paired with its call upstream


# --- 2. the Node.js client ------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_the_node_client_streams_a_tool_call(
    model: str, compat: Compat, request: pytest.FixtureRequest
) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed: `make node`"
    assert (NODE_MODULES / "openai").is_dir(), "the Node client: `make compat-node`"
    compat.script(model, Script(chunks=["Let me check."], tool_calls=[PARIS]))
    before = len(compat.requests(model))
    done = subprocess.run(
        [node, str(NODE_SCRIPT), f"{compat.server.url}/v1", token_for(request), model],
        cwd=REPO,
        env={key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    pinned = json.loads((REPO / "tests/compat/package.json").read_text())
    assert result["sdk"] == pinned["dependencies"]["openai"]
    assert result["name"] == "get_weather"
    assert json.loads(result["arguments"]) == {"city": "Paris"}
    assert result["finish_reason"] == "tool_calls"
    assert result["calls"] == 1
    requests = compat.requests(model)[before:]
    assert len(requests) == 1
    assert requests[0].provider == PROVIDER_OF[model]
