"""The OpenAI adapter's reading of streamed chunks, fed as the SDK hands them over (dicts):
tool-call fragments, finish reasons, and shapes the API never sends (a malformed stream)."""

from __future__ import annotations

from typing import Any

import pytest

from parley.providers.base import (
    ChatMessage,
    GenerationRequest,
    TextDelta,
    ToolCallDelta,
)
from parley.providers.openai import _Reading
from parley.providers.wire import MalformedStream

REQUEST = GenerationRequest([ChatMessage("user", "Weather?")])


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}


def opening(index: int, call_id: str, name: str) -> dict[str, Any]:
    function = {"name": name, "arguments": ""}
    return {"index": index, "id": call_id, "type": "function", "function": function}


def piece(index: int, arguments: str) -> dict[str, Any]:
    return {"index": index, "function": {"arguments": arguments}}


def read(*chunks: dict[str, Any]) -> tuple[list[Any], _Reading]:
    reading = _Reading()
    return [event for raw in chunks for event in reading.events_of(raw)], reading


def test_text_and_a_call_in_one_delta_come_text_first() -> None:
    events, _ = read(chunk({"content": "On it.", "tool_calls": [opening(0, "c1", "f")]}))
    assert events == [TextDelta("On it."), ToolCallDelta(0, id="c1", name="f")]


def test_calls_are_numbered_in_the_order_they_begin_whatever_the_servers_index() -> None:
    events, _ = read(
        chunk({"tool_calls": [opening(3, "c1", "f")]}),
        chunk({"tool_calls": [opening(7, "c2", "g"), piece(3, '{"a":')]}),
        chunk({"tool_calls": [piece(3, "1}"), piece(7, "{}")]}),
    )
    assert events == [
        ToolCallDelta(0, id="c1", name="f"),
        ToolCallDelta(1, id="c2", name="g"),
        ToolCallDelta(0, arguments='{"a":'),
        ToolCallDelta(0, arguments="1}"),
        ToolCallDelta(1, arguments="{}"),
    ]


def test_a_whole_call_in_one_entry_is_one_fragment_and_empty_pieces_are_no_events() -> None:
    whole = {**opening(0, "c1", "f"), "function": {"name": "f", "arguments": '{"a":1}'}}
    events, _ = read(chunk({"tool_calls": [whole]}), chunk({"tool_calls": [piece(0, "")]}))
    assert events == [ToolCallDelta(0, id="c1", name="f", arguments='{"a":1}')]


@pytest.mark.parametrize(
    ("reason", "called", "finish"),
    [
        ("tool_calls", True, "tool_calls"),
        ("function_call", True, "tool_calls"),
        # some compatible servers say "stop" after calling tools
        ("stop", True, "tool_calls"),
        (None, True, "tool_calls"),
        ("length", True, "length"),  # a call cut by the budget stays a length stop
        ("stop", False, "stop"),
        ("something_new", False, "other"),
    ],
)
def test_the_finish_reason(reason: str | None, called: bool, finish: str) -> None:
    delta = {"tool_calls": [opening(0, "c1", "f")]} if called else {"content": "x"}
    _, reading = read(chunk(delta), chunk({}, reason))
    assert reading.finish(REQUEST).finish_reason == finish


def test_estimated_usage_counts_the_calls_arguments() -> None:
    arguments = '{"city":"' + "x" * 30 + '"}'
    _, reading = read(
        chunk({"tool_calls": [opening(0, "c1", "f")]}), chunk({"tool_calls": [piece(0, arguments)]})
    )
    usage = reading.finish(REQUEST).usage
    assert usage.estimated is True
    assert usage.output_tokens == 11  # 42 characters, four to a token


@pytest.mark.parametrize(
    "delta",
    [
        {"tool_calls": "call"},
        {"tool_calls": ["call"]},
        {"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": ""}}]},  # no index
        {"tool_calls": [{**opening(0, "c1", "f"), "index": -1}]},
        {"tool_calls": [{**opening(0, "c1", "f"), "index": "0"}]},
        {"tool_calls": [{"index": 0, "function": {"name": "f"}}]},  # opens without an id
        {"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": "{}"}}]},  # no name
        {"tool_calls": [{"index": 0, "id": "c1", "function": "f"}]},
        {"tool_calls": [{**opening(0, "c1", "f"), "function": {"name": "f", "arguments": {}}}]},
        {"tool_calls": [{**opening(0, 7, "f")}]},
    ],
    ids=[
        "not-a-list",
        "not-an-object",
        "no-index",
        "negative-index",
        "text-index",
        "no-id",
        "no-name",
        "function-not-an-object",
        "arguments-not-text",
        "id-not-text",
    ],
)
def test_a_tool_call_in_a_shape_the_api_never_sends_is_a_malformed_stream(
    delta: dict[str, Any],
) -> None:
    with pytest.raises(MalformedStream):
        read(chunk(delta))
