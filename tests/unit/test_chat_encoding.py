"""Wire encodings of chat events: Parley's SSE protocol and OpenAI's chunks."""

from __future__ import annotations

import json

from parley.chat.edge.completion_chunks import CompletionChunkEncoder, completion_body
from parley.chat.edge.sse import SseEncoder
from parley.chat.events import Done, Failed, Meta, Token
from parley.errors import UpstreamTimeout

META = Meta(
    request_id="r1",
    conversation_id="c1",
    message_id="m1",
    route={"provider": "openai", "model": "gpt-x", "tier": "light", "mode": "auto"},
    context={"message_count": 2},
)
DONE = Done(
    finish_reason="stop",
    input_tokens=10,
    output_tokens=3,
    usage_estimated=False,
    cost_usd=0.0012,
    latency_ms=42.0,
    ttft_ms=12.5,
    message_id="m1",
    model="gpt-x",
)


def parse_sse(raw: bytes) -> list[dict[str, str]]:
    messages = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = value
        messages.append(fields)
    return messages


def test_every_sse_message_has_an_increasing_id_and_a_typed_json_payload() -> None:
    encoder = SseEncoder()
    raw = b"".join(encoder.encode(e) for e in (META, Token("Hel"), Token("lo"), DONE))
    messages = parse_sse(raw)
    assert [m["id"] for m in messages] == ["1", "2", "3", "4"]
    payloads = [json.loads(m["data"]) for m in messages]
    assert [p["type"] for p in payloads] == ["meta", "token", "token", "done"]
    assert payloads[0]["route"]["model"] == "gpt-x"
    assert payloads[0]["context"] == {"message_count": 2}
    assert payloads[3]["usage"] == {"input_tokens": 10, "output_tokens": 3, "estimated": False}
    assert payloads[3]["cost_usd"] == 0.0012
    assert payloads[3]["cached"] is False


def test_an_sse_error_carries_the_error_shape() -> None:
    payload = json.loads(parse_sse(SseEncoder().encode(Failed(UpstreamTimeout())))[0]["data"])
    assert payload == {
        "type": "error",
        "code": "upstream_timeout",
        "message": UpstreamTimeout.default_message,
        "retryable": True,
    }


def test_sse_pings_are_comments() -> None:
    assert SseEncoder().ping() == b": ping\n\n"


def test_openai_chunks_open_with_the_role_and_end_with_finish_usage_and_done() -> None:
    encoder = CompletionChunkEncoder(include_usage=True)
    raw = b"".join(encoder.encode(e) for e in (META, Token("Hi"), DONE)) + encoder.end(True)
    lines = [line for line in raw.decode().split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert {c["model"] for c in chunks} == {"gpt-x"}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[1]["choices"][0]["delta"] == {"content": "Hi"}
    assert chunks[2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[3]["choices"] == []
    assert chunks[3]["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    assert all(c["usage"] is None for c in chunks[:3])


def test_openai_chunks_carry_no_usage_unless_asked() -> None:
    encoder = CompletionChunkEncoder(include_usage=False)
    raw = b"".join(encoder.encode(e) for e in (META, DONE))
    chunks = [json.loads(x.removeprefix("data: ")) for x in raw.decode().split("\n\n") if x]
    assert len(chunks) == 2
    assert all("usage" not in c for c in chunks)


def test_an_openai_stream_error_is_an_error_object_without_done() -> None:
    encoder = CompletionChunkEncoder(include_usage=False)
    raw = encoder.encode(Failed(UpstreamTimeout("slow")))
    assert json.loads(raw.decode().removeprefix("data: "))["error"]["message"] == "slow"
    assert encoder.end(False) == b""


def test_a_whole_completion_has_the_text_and_usage() -> None:
    body = completion_body(META, "Hello", DONE)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello",
        "refusal": None,
    }
    assert body["usage"]["total_tokens"] == 13


def test_a_completion_is_named_by_its_answer_so_a_replay_keeps_its_id_and_created() -> None:
    meta = Meta(
        request_id="r1",
        conversation_id=None,
        message_id="01JDQ7ZG7A2M4X5R6T8V9W0YZB",
        route={"provider": "openai", "model": "gpt-x"},
        created=1_764_000_000,
    )
    whole = completion_body(meta, "Hello", DONE)
    encoder = CompletionChunkEncoder(include_usage=True)
    raw = b"".join(encoder.encode(event) for event in (meta, Token("Hello"), DONE))
    chunks = [
        json.loads(line.removeprefix("data: ")) for line in raw.decode().split("\n\n") if line
    ]
    assert whole["id"] == "chatcmpl-01JDQ7ZG7A2M4X5R6T8V9W0YZB"
    assert whole["created"] == 1_764_000_000
    assert {(chunk["id"], chunk["created"]) for chunk in chunks} == {
        (whole["id"], whole["created"])
    }
