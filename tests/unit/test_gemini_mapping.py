"""The Gemini adapter's pure mappings: the call ids that carry thought signatures, the stream
read from chunks given directly (shapes the fake does not send), text-only turns as they
always were; and the fake Gemini API's own refusals."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google.genai import types

from parley.providers.base import ChatMessage, GenerationRequest, ToolCallDelta
from parley.providers.gemini import _Answer, _call_id, _contents, _from_call_id
from parley.providers.messages import alternating_turns
from parley.providers.wire import MalformedStream
from tests.fakes.gemini_wire import GeminiReply, request_problem
from tests.fakes.scripts import FakeToolCall, Script

REQUEST = GenerationRequest(messages=[ChatMessage("user", "Hi")])


def chunk(*parts: types.Part, finish: str | None = None) -> types.GenerateContentResponse:
    content = types.Content(role="model", parts=list(parts))
    candidate = types.Candidate(content=content, finish_reason=finish)
    return types.GenerateContentResponse(candidates=[candidate])


def call_part(name: str | None, **options: Any) -> types.Part:
    return types.Part(function_call=types.FunctionCall(name=name, args={"a": 1}), **options)


# --- call ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [b"\xfb\xff\xbf", b"s", b"sig" * 300, None])
@pytest.mark.parametrize("gemini_id", ["fc-1", "with.dots and spaces", None])
def test_a_call_id_gives_back_geminis_id_and_signature(
    gemini_id: str | None, signature: bytes | None
) -> None:
    call_id = _call_id(gemini_id, signature)
    assert call_id.startswith("call_")
    assert call_id.isascii()
    assert " " not in call_id
    assert _from_call_id(call_id) == (gemini_id, signature)


@pytest.mark.parametrize(
    "foreign",
    ["call_AbC123xyz", "toolu_01A09q90qw90lq917835lq9", "call_abc.def", "", "call_", "x.y"],
)
def test_another_providers_ids_carry_neither_id_nor_signature(foreign: str) -> None:
    assert _from_call_id(foreign) == (None, None)


def test_a_damaged_signature_is_dropped_not_sent() -> None:
    # one base64url character is never a whole byte
    assert _from_call_id(f"call_{'a' * 24}.x") == (None, None)


def test_generated_ids_differ() -> None:
    assert len({_call_id(None, None) for _ in range(50)}) == 50


# --- reading the stream ---------------------------------------------------------------------


def test_a_function_call_without_a_name_is_a_malformed_stream() -> None:
    answer = _Answer()
    with pytest.raises(MalformedStream):
        list(answer.read(chunk(call_part(None))))


def test_a_thought_part_is_not_the_answer_and_calls_count_across_chunks() -> None:
    answer = _Answer()
    events = [
        *answer.read(chunk(types.Part(text="hmm", thought=True), call_part("f"))),
        *answer.read(chunk(call_part("g"), finish="STOP")),
    ]
    assert [(e.index, e.name) for e in events if isinstance(e, ToolCallDelta)] == [
        (0, "f"),
        (1, "g"),
    ]
    assert len(events) == 2
    assert answer.finish(REQUEST).finish_reason == "tool_calls"


def test_calls_cut_short_by_the_token_limit_finish_with_length() -> None:
    answer = _Answer()
    list(answer.read(chunk(call_part("f"), finish="MAX_TOKENS")))
    assert answer.finish(REQUEST).finish_reason == "length"


def test_an_answer_without_calls_still_finishes_with_stop() -> None:
    answer = _Answer()
    list(answer.read(chunk(types.Part(text="Blue."), finish="STOP")))
    assert answer.finish(REQUEST).finish_reason == "stop"


# --- the request ----------------------------------------------------------------------------


def test_text_only_turns_are_exactly_what_they_always_were() -> None:
    messages = [
        ChatMessage("assistant", "Earlier answer."),
        ChatMessage("user", "Hi"),
        ChatMessage("user", ""),
        ChatMessage("user", "Still there?"),
        ChatMessage("system", "ignored here"),
        ChatMessage("assistant", "Yes."),
        ChatMessage("user", "Name a colour."),
    ]
    before = [
        types.Content(
            role="model" if turn.role == "assistant" else "user",
            parts=[types.Part(text=turn.content)],
        )
        for turn in alternating_turns(messages)
    ]
    assert _contents(GenerationRequest(messages=messages)) == before


# --- the fake's refusals ----------------------------------------------------------------------


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts)}


def model(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model", "parts": list(parts)}


CALL = {"functionCall": {"name": "now", "args": {}}}


def response(name: str) -> dict[str, Any]:
    return {"functionResponse": {"name": name, "response": {"result": "12:00"}}}


@pytest.mark.parametrize(
    "contents",
    [
        [user({"text": "Hi"}), model(CALL), user(response("now"))],
        [user({"text": "Hi"}, {"inlineData": {"mime_type": "image/png", "data": "AAAA"}})],
        [user({"inlineData": {"mimeType": "image/png", "data": "AAAA"}})],
    ],
    ids=["a-response-to-its-call", "snake-case-mime-type", "camel-case-mime-type"],
)
def test_the_fake_takes_what_the_api_takes(contents: list[dict[str, Any]]) -> None:
    assert request_problem({"contents": contents}) is None


@pytest.mark.parametrize(
    ("contents", "words"),
    [
        ([model({"text": "Hello"}), user({"text": "Hi"})], "alternate"),
        ([user({"text": "Hi"}), user({"text": "again"})], "alternate"),
        ([user({"text": "Hi"}), model(CALL), user(response("later"))], "function response"),
        ([user(response("now"))], "function response"),
        ([user({"inlineData": {"data": "AAAA"}})], "mime_type"),
        ([user()], "must not be empty"),
    ],
    ids=["model-first", "two-user", "unmatched-name", "no-call", "no-mime-type", "no-parts"],
)
def test_the_fake_refuses_what_the_api_refuses(contents: list[dict[str, Any]], words: str) -> None:
    body = {"contents": contents}
    problem = request_problem(body)
    assert problem is not None
    assert words in problem
    refusal = GeminiReply("m", body, Script()).refusal()
    assert refusal is not None
    status, error = refusal
    assert status == 400
    assert error["error"]["status"] == "INVALID_ARGUMENT"
    assert error["error"]["code"] == 400


def test_the_fake_signs_only_the_first_of_parallel_calls_in_standard_base64() -> None:
    script = Script(chunks=[], tool_calls=[FakeToolCall("f", {}), FakeToolCall("g", {}, "id")])
    parts = GeminiReply("m", {}, script).whole()["candidates"][0]["content"]["parts"]
    assert [("thoughtSignature" in part, part["functionCall"].get("id")) for part in parts] == [
        (True, None),
        (False, "id"),
    ]
    signature = parts[0]["thoughtSignature"]
    assert base64.b64encode(base64.b64decode(signature)).decode() == signature
    assert "+" in signature
    assert "/" in signature
