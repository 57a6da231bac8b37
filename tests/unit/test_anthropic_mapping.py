"""The Anthropic adapter's stream reading on events given directly (shapes the fake does not
send), and the fake Messages API's own fidelity: its refusals and its non-streamed message."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from parley.providers.anthropic import _Answer
from parley.providers.base import GenerationRequest, TextDelta, ToolCallDelta
from parley.providers.wire import MalformedStream
from tests.fakes.anthropic_wire import AnthropicReply, request_refusal
from tests.fakes.scripts import FakeToolCall, Script


def read(*events: dict[str, Any]) -> list[Any]:
    answer = _Answer()
    return [produced for event in events for produced in answer.read(event)]


def tool_start(index: int, **block: Any) -> dict[str, Any]:
    content_block = {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}, **block}
    return {"type": "content_block_start", "index": index, "content_block": content_block}


def input_delta(index: int, partial_json: Any) -> dict[str, Any]:
    delta = {"type": "input_json_delta", "partial_json": partial_json}
    return {"type": "content_block_delta", "index": index, "delta": delta}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


# --- reading the stream ------------------------------------------------------------------


def test_a_call_whose_input_never_came_gets_an_empty_object_at_its_stop() -> None:
    assert read(tool_start(0), input_delta(0, ""), stop(0)) == [
        ToolCallDelta(0, id="toolu_1", name="now", arguments=""),
        ToolCallDelta(0, arguments="{}"),
    ]


def test_a_call_with_input_gets_nothing_more_at_its_stop() -> None:
    assert read(tool_start(2), input_delta(2, '{"a":1}'), stop(2)) == [
        ToolCallDelta(0, id="toolu_1", name="now", arguments=""),
        ToolCallDelta(0, arguments='{"a":1}'),
    ]


def test_an_input_given_whole_at_the_start_is_the_whole_arguments() -> None:
    assert read(tool_start(0, input={"city": "Oslo"}), stop(0)) == [
        ToolCallDelta(0, id="toolu_1", name="now", arguments='{"city": "Oslo"}'),
    ]


def test_other_blocks_are_neither_text_nor_calls() -> None:
    thinking = {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}}
    thought = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "hmm"},
    }
    text = {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "text_delta", "text": "Hi"},
    }
    assert read(thinking, thought, stop(0), text, stop(1)) == [TextDelta("Hi")]


def test_the_tool_use_stop_reason_finishes_with_tool_calls() -> None:
    answer = _Answer()
    list(answer.read({"type": "message_delta", "delta": {"stop_reason": "tool_use"}}))
    assert answer.finish(GenerationRequest(messages=[])).finish_reason == "tool_calls"


@pytest.mark.parametrize(
    "events",
    [
        [tool_start(0, id=None)],
        [tool_start(0, name="")],
        [tool_start(0, id=7)],
        [tool_start(0, input="{}")],
        [{"type": "content_block_start", "index": 0, "content_block": "tool_use"}],
        [{"type": "content_block_start", "index": "0", "content_block": {"type": "tool_use"}}],
        [input_delta(0, '{"a":1}')],  # no tool_use block at that index
        [tool_start(0), input_delta(0, {"a": 1})],
        [tool_start(0), {"type": "content_block_stop"}],
    ],
    ids=[
        "no-id",
        "empty-name",
        "id-not-text",
        "input-not-object",
        "block-not-object",
        "index-not-integer",
        "input-outside-a-call",
        "partial-json-not-text",
        "stop-without-index",
    ],
)
def test_misshapen_tool_events_are_a_malformed_stream(events: list[dict[str, Any]]) -> None:
    with pytest.raises(MalformedStream):
        read(*events)


# --- the fake's refusals -----------------------------------------------------------------

CALL = {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "12:00"}
TEXT = {"type": "text", "text": "Thanks"}


NOW_TOOL = {"name": "now", "input_schema": {"type": "object", "properties": {}}}


def body(*messages: tuple[str, Any]) -> dict[str, Any]:
    """A request body; with the tool its calls use declared, as the API requires."""
    turns = [{"role": role, "content": content} for role, content in messages]
    return {"messages": turns, "tools": [NOW_TOOL]}


def test_a_well_formed_tool_exchange_is_accepted() -> None:
    accepted = body(("user", "Time?"), ("assistant", [CALL]), ("user", [RESULT, TEXT]))
    assert request_refusal(accepted) is None


@pytest.mark.parametrize(
    ("refused", "says"),
    [
        (body(("assistant", "Hi")), 'first message must use the "user" role'),
        (body(("user", "a"), ("user", "b")), 'multiple "user" roles in a row'),
        (
            body(("user", "Time?"), ("assistant", [CALL]), ("user", [TEXT, RESULT])),
            "at the beginning of this message",
        ),
        (
            body(("user", "Time?"), ("assistant", [CALL]), ("user", [TEXT])),
            "`tool_result` block(s)",
        ),
        (
            body(("user", "Time?"), ("assistant", "Hm."), ("user", [RESULT])),
            "unexpected `tool_use_id` found in `tool_result` blocks: toolu_1",
        ),
        (
            body(("user", [{"type": "image", "source": {"type": "base64", "data": "AAAA"}}])),
            "messages.0.content.0.image.source.base64.media_type: Field required",
        ),
        (
            body(("user", [{"type": "image", "source": {"type": "url"}}])),
            "image.source.url.url: Field required",
        ),
        (
            body(("user", "Time?"), ("assistant", [{**CALL, "input": "{}"}]), ("user", [RESULT])),
            "tool_use.input: Input should be a valid dictionary",
        ),
    ],
    ids=[
        "assistant-first",
        "two-user-turns",
        "result-after-text",
        "result-missing",
        "result-for-no-call",
        "image-without-media-type",
        "image-without-url",
        "input-not-object",
    ],
)
def test_the_fake_refuses_what_the_api_refuses(refused: dict[str, Any], says: str) -> None:
    problem = request_refusal(refused)
    assert problem is not None
    assert says in problem


def test_a_refusal_is_the_apis_400_invalid_request_error() -> None:
    reply = AnthropicReply("m", body(("assistant", "Hi")), Script())
    refusal = reply.refusal()
    assert refusal is not None
    status, error = refusal
    assert status == 400
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert AnthropicReply("m", body(("user", "Hi")), Script()).refusal() is None


# --- the fake's non-streamed message -----------------------------------------------------


def test_a_whole_message_with_calls_is_a_message_the_sdk_reads() -> None:
    call = FakeToolCall("get_weather", {"city": "Oslo"}, id="toolu_w")
    whole = AnthropicReply("m", {}, Script(chunks=["Sure."], tool_calls=[call])).whole()
    message = anthropic.types.Message.model_validate(whole)
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use"]
    tool_use = message.content[1]
    assert isinstance(tool_use, anthropic.types.ToolUseBlock)
    assert (tool_use.id, tool_use.name, tool_use.input) == (
        "toolu_w",
        "get_weather",
        call.arguments,
    )


def test_a_whole_message_of_calls_only_has_no_text_block() -> None:
    calls = [FakeToolCall("now", {}), FakeToolCall("now", {})]
    whole = AnthropicReply("m", {}, Script(chunks=[], tool_calls=calls)).whole()
    blocks = whole["content"]
    assert [block["type"] for block in blocks] == ["tool_use", "tool_use"]
    assert blocks[0]["id"] != blocks[1]["id"]
    assert all(block["id"].startswith("toolu_") for block in blocks)
