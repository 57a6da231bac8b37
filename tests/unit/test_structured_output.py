"""The pieces of structured output and tool calls that need no server: the output check, the
partial objects' throttle, tool-call assembly, what a request needs of a model, images."""

from __future__ import annotations

import pytest

from parley.chat.images import check_image_limits, image_part, image_reference, image_size
from parley.chat.partials import PartialObjects
from parley.errors import PayloadTooLarge, ValidationFailed
from parley.providers.base import (
    ChatMessage,
    GenerationRequest,
    ImagePart,
    ResponseSchema,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
)
from parley.providers.catalog import ModelSpec
from parley.routing.needs import Needs, capability_unavailable
from parley.routing.output_check import OutputCheck, OutputRejected, schema_problem
from parley.routing.tool_calls import ToolCallAssembly

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Er"
    "kJggg=="
)
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    "required": ["city", "celsius"],
}


def spec(name: str = "m", **capabilities: object) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": name,
            "provider": "openai",
            "model": name,
            "tier": "light",
            "context_window": 1000,
            "input_price_per_mtok": 1,
            "output_price_per_mtok": 1,
            "capabilities": capabilities,
        }
    )


def check(schema: dict[str, object] | None = SCHEMA) -> OutputCheck:
    response = ResponseSchema("report", schema) if schema is not None else None
    return OutputCheck(
        GenerationRequest(messages=[], response_schema=response, json_object=schema is None)
    )


def test_an_answer_that_follows_the_schema_passes_as_written() -> None:
    text = '{"city": "Paris", "celsius": 18}'
    assert check().checked_text(text, spec()) == text


def test_a_fenced_answer_is_given_without_its_fence() -> None:
    fenced = '```json\n{"city": "Paris", "celsius": 18}\n```'
    assert check().checked_text(fenced, spec()) == '{"city": "Paris", "celsius": 18}'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Sunny, 18 degrees.", "is not JSON"),
        ("[1, 2]", "is not a JSON object"),
        ('{"city": "Paris"}', "'celsius' is a required property"),
        ('{"city": "Paris", "celsius": "warm"}', "at /celsius"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_the_models_failure(text: str, problem: str) -> None:
    with pytest.raises(OutputRejected, match=problem) as raised:
        check().checked_text(text, spec("m-x"))
    assert raised.value.model == "m-x"
    assert raised.value.caused_by_provider


def test_json_object_mode_takes_any_object() -> None:
    assert check(None).holds_text
    assert check(None).checked_text('{"anything": true}', spec()) == '{"anything": true}'
    assert not OutputCheck(GenerationRequest(messages=[])).holds_text


@pytest.mark.parametrize("arguments", ["{not json", "[1]", '"text"'])
def test_tool_call_arguments_must_be_an_object(arguments: str) -> None:
    with pytest.raises(OutputRejected):
        check().check_call(ToolCall("call_1", "get_weather", arguments), spec())
    check().check_call(ToolCall("call_1", "get_weather", '{"city": "Paris"}'), spec())


def test_schema_problems_are_found() -> None:
    assert schema_problem(SCHEMA) is None
    assert "not a valid JSON schema" in str(schema_problem({"type": "nothing"}))
    assert schema_problem([1]) == "a JSON schema is an object"


def test_partials_are_throttled_and_only_sent_when_they_change() -> None:
    now = [0.0]
    partials = PartialObjects(interval_seconds=0.1, clock=lambda: now[0])
    assert partials.add('{"city": "Pa') == (True, {"city": "Pa"})
    now[0] = 0.05
    assert partials.add("ri") == (False, None)  # too soon
    now[0] = 0.2
    assert partials.add("s") == (True, {"city": "Paris"})
    now[0] = 0.4
    assert partials.add('"  ') == (False, None)  # the same object
    assert partials.add(', "c', may_send=False) == (False, None)
    now[0] = 0.6
    assert partials.add('elsius": 1') == (True, {"city": "Paris", "celsius": 1})
    partials.restart()
    assert partials.add("Sure! Here") == (False, None)  # prose is no object


def test_fragments_become_whole_calls_in_order() -> None:
    assembly = ToolCallAssembly()
    assert not assembly
    assembly.add(ToolCallDelta(1, "call_b", "get_time", ""))
    assembly.add(ToolCallDelta(0, "call_a", "get_weather", '{"ci'))
    assembly.add(ToolCallDelta(0, arguments='ty": "Paris"}'))
    calls = assembly.calls()
    assert calls == [
        ToolCall("call_a", "get_weather", '{"city": "Paris"}'),
        ToolCall("call_b", "get_time", "{}"),
    ]
    unnamed = ToolCallAssembly()
    unnamed.add(ToolCallDelta(0, name="f"))
    assert unnamed.calls()[0].id.startswith("call_")


def test_needs_come_from_the_tools_the_history_and_the_images() -> None:
    image = ImagePart("image/webp", data=PNG)
    assert not Needs.of([ChatMessage("user", "hi")])
    assert Needs.of([ChatMessage("tool", "18C", tool_call_id="c")]).tools
    needs = Needs.of(
        [ChatMessage("user", "see", images=(image,))],
        tools=(ToolSpec("f"),),
        response_schema=ResponseSchema("r", SCHEMA),
    )
    assert needs.names() == ["tools", "vision (image/webp)", "json_schema"]
    assert needs.lacking(spec(tools=True, vision=["image/png"])) == [
        "vision (image/webp)",
        "json_schema",
    ]
    kept, skipped = needs.capable(
        [spec("a"), spec("b", tools=True, vision=["image/webp"], json_schema=True)]
    )
    assert [s.name for s in kept] == ["b"]
    assert skipped == ["a (no tools, vision (image/webp), json_schema)"]
    error = capability_unavailable(needs, [spec("a")], [spec("a"), kept[0]], lambda _: True)
    assert error.status == 422
    assert (error.details["models"], error.details["available"]) == (["b"], ["b"])
    assert "Models here that have it: b" in error.message
    keyless = capability_unavailable(needs, [spec("a")], [spec("a"), kept[0]], lambda _: False)
    assert keyless.details["available"] == []
    assert "none has its provider's API key configured here" in keyless.message


def test_images_are_read_and_limited() -> None:
    inline = image_part(f"data:image/png;base64,{PNG}", "low")
    assert (inline.media_type, inline.detail, image_size(inline)) == ("image/png", "low", 70)
    by_url = image_part("https://example.com/cat.webp?size=2")
    assert (by_url.media_type, by_url.url) == ("image/webp", "https://example.com/cat.webp?size=2")
    assert image_part("https://example.com/photo").media_type == "image/jpeg"
    with pytest.raises(ValidationFailed, match="not supported"):
        image_part("https://example.com/cat.tiff")
    with pytest.raises(ValidationFailed, match="https URL"):
        image_part("http://example.com/cat.png")
    with pytest.raises(PayloadTooLarge):
        check_image_limits([inline], max_images=5, max_bytes=69)
    with pytest.raises(ValidationFailed, match="at most 1 images"):
        check_image_limits([inline, by_url], max_images=1, max_bytes=1000)
    reference = image_reference(inline)
    assert reference["bytes"] == 70
    assert PNG not in str(reference)


def calls_check(choice: ToolChoice | None) -> OutputCheck:
    tools = (ToolSpec("get_weather"), ToolSpec("get_time"))
    return OutputCheck(GenerationRequest(messages=[], tools=tools, tool_choice=choice))


def test_calls_must_be_of_the_tools_offered_and_made_when_required() -> None:
    weather = ToolCall("call_1", "get_weather", "{}")
    calls_check(None).check_calls([], spec())  # auto: text alone is an answer
    calls_check(ToolChoice("auto")).check_calls([weather], spec())
    with pytest.raises(OutputRejected, match="not one of the tools"):
        calls_check(None).check_calls([ToolCall("call_2", "delete_everything", "{}")], spec())
    with pytest.raises(OutputRejected, match="requires"):
        calls_check(ToolChoice("required")).check_calls([], spec())
    calls_check(ToolChoice("required")).check_calls([weather], spec())
    with pytest.raises(OutputRejected, match="not get_time as required"):
        calls_check(ToolChoice("function", "get_time")).check_calls([weather], spec())
    with pytest.raises(OutputRejected, match="requires"):
        calls_check(ToolChoice("function", "get_time")).check_calls([], spec())
    with pytest.raises(OutputRejected, match="forbids"):
        calls_check(ToolChoice("none")).check_calls([weather], spec())
    required = calls_check(ToolChoice("required"))
    assert required.holds_text  # words before the call wait until it is made
    assert required.checked_text("Let me check.", spec()) == "Let me check."
    assert not calls_check(ToolChoice("auto")).holds_text
