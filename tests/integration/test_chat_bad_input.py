"""Bad input never becomes a 500, an outage or another tenant's problem: text that cannot be
encoded, numbers no store can hold and failures after the stream began, through the chat API
(in-process on memory stores; on a live server over moto for a DynamoDB write that breaks) in
front of the fake upstreams."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from parley.hot.memory import MemoryHotStore
from parley.routing.breaker import BreakerPolicy, CircuitBreaker
from tests.fakes.upstreams import Script
from tests.support.asgi import bearer
from tests.support.chat import ChatTarget, MemoryChat, stream_chat
from tests.support.clients import ClientProxy

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.fakes.upstreams import FakeUpstream
    from tests.support.chat import StartChat, StartMemoryChat

pytestmark = pytest.mark.anyio


LONE_SURROGATE = "hi \\ud800 there"  # as JSON text: the escape of a lone surrogate


def raw_json(template: str) -> bytes:
    """A body written by hand, so that it can hold what ``json.dumps`` would escape or refuse."""
    return template.encode()


async def post(
    chat: ChatTarget, path: str, body: bytes, *, org: str | None = None
) -> httpx.Response:
    headers = {**bearer("user-1", org_id=org), "Content-Type": "application/json"}
    async with chat.client() as client:
        return await client.post(path, content=body, headers=headers)


UNENCODABLE = [
    pytest.param("/v1/chat/stream", '{"message": "%s"}', id="stream message"),
    pytest.param(
        "/v1/chat/stream",
        '{"message": "Read this", "attachments": [{"name": "a.txt", "text": "%s"}]}',
        id="stream attachment",
    ),
    pytest.param(
        "/v1/chat/stream", '{"message": "hi", "choices": {"style": "%s"}}', id="stream choices"
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"model": "auto", "messages": [{"role": "user", "content": "%s"}]}',
        id="completion",
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"model": "auto", "stream": true, "messages": [{"role": "user", "content": "%s"}]}',
        id="streamed completion",
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"model": "auto", "messages": [{"role": "user", "content": "%s"},'
        ' {"role": "assistant", "content": "ok"}, {"role": "user", "content": "and?"}]}',
        id="completion history",
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"model": "auto", "messages": [{"role": "user", "content": [{"type": "text",'
        ' "text": "%s"}]}]}',
        id="completion content part",
    ),
]


@pytest.mark.parametrize(("path", "template"), UNENCODABLE)
async def test_text_that_cannot_be_encoded_is_a_422_before_any_provider_call(
    chat: MemoryChat, upstream: FakeUpstream, path: str, template: str
) -> None:
    calls = len(upstream.requests)
    response = await post(chat, path, raw_json(template % LONE_SURROGATE))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["retryable"]) == ("invalid_request", False)
    assert "not valid Unicode" in error["message"]
    assert len(upstream.requests) == calls


async def test_the_utf8_bytes_of_a_surrogate_are_refused_too(chat: MemoryChat) -> None:
    # Python's json decodes bytes with "surrogatepass": ED A0 80 would become U+D800.
    body = b'{"message": "hi \xed\xa0\x80 there"}'
    response = await post(chat, "/v1/chat/stream", body)
    assert response.status_code == 422
    assert "UTF-8" in response.json()["error"]["message"]


async def test_fifty_unencodable_requests_leave_the_circuit_closed_and_another_org_is_served(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream
) -> None:
    # GIVEN one hot store, where the model's circuit lives for every org
    hot = MemoryHotStore()
    chat = start_memory_chat(hot=hot)
    model = chat.models["m-openai"]
    upstream.script(model, Script(chunks=["Served."]))
    # WHEN one org's user sends 50 requests whose text cannot be encoded, on both endpoints
    bodies = [raw_json(template % LONE_SURROGATE) for _, template in _templates()]
    paths = [path for path, _ in _templates()]
    statuses = [
        (
            await post(chat, paths[n % len(paths)], bodies[n % len(bodies)], org="mischief")
        ).status_code
        for n in range(50)
    ]
    # THEN each is refused, the model is never called and its circuit stays closed
    assert set(statuses) == {422}
    assert upstream.requests_for(model) == []
    state = await CircuitBreaker(hot, BreakerPolicy()).state(f"openai:{'m-openai'}")
    assert state.status == "closed"
    assert state.window is None or state.window.failures == 0
    # AND a user of another org is served by that model
    served = await stream_chat(chat, {"message": "Hello"}, org="bystander")
    assert (served.types[0], served.types[-1], served.text) == ("meta", "done", "Served.")


def _templates() -> list[tuple[str, str]]:
    return [(param.values[0], param.values[1]) for param in UNENCODABLE]  # type: ignore[misc]


async def test_a_models_unencodable_text_is_repaired_before_it_goes_on(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    # GIVEN a model whose stream decodes into a lone surrogate (the fake sends it escaped)
    upstream.script(chat.models["m-openai"], Script(chunks=["bad \ud800 ", "text"]))
    first = await stream_chat(chat, {"message": "Say something odd"})
    # THEN the client gets U+FFFD in its place, and the reply is stored and usable as history
    assert first.types[-1] == "done", first.events
    assert first.text == "bad \ufffd text"
    upstream.script(chat.models["m-openai"], Script(chunks=["Fine."]))
    again = await stream_chat(
        chat,
        {"message": "Go on", "conversation_id": first.events[0]["conversation_id"]},
    )
    assert (again.types[-1], again.text) == ("done", "Fine.")
    sent = json.dumps(upstream.requests_for(chat.models["m-openai"])[-1].body)
    assert "bad \\ufffd text" in sent


BAD_CHOICES = [
    pytest.param('{"style": NaN}', id="NaN"),
    pytest.param('{"style": Infinity}', id="Infinity"),
    pytest.param('{"style": -Infinity}', id="-Infinity"),
    pytest.param('{"style": 1e300}', id="1e300"),
    pytest.param('{"style": ' + "9" * 40 + "}", id="a 40-digit integer"),
    pytest.param('{"style": "' + LONE_SURROGATE + '"}', id="a lone surrogate"),
    pytest.param('{"style": "' + "x" * 900_000 + '"}', id="a 900 KB value"),
    pytest.param('{"style": ' + json.dumps(["x"] * 51) + "}", id="a long list"),
    pytest.param('{"style": {"nested": 1}}', id="an object"),
    pytest.param('{"' + "k" * 61 + '": 1}', id="a long key"),
]


@pytest.mark.parametrize("choices", BAD_CHOICES)
async def test_choices_are_validated_before_anything_is_stored_or_streamed(
    chat: MemoryChat, choices: str
) -> None:
    user = f"chooser-{time.monotonic_ns()}"
    body = ('{"message": "hi", "choices": ' + choices + "}").encode()
    headers = {**bearer(user), "Content-Type": "application/json"}
    async with chat.client() as client:
        response = await client.post("/v1/chat/stream", content=body, headers=headers)
        listed = await client.get("/v1/conversations", headers=bearer(user))
    # a plain JSON error, not a 200 stream, and nothing stored
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "invalid_request"
    assert listed.json()["conversations"] == []


async def test_choices_a_form_sends_are_stored_with_the_message(chat: MemoryChat) -> None:
    choices = {"defaultStyle": "watercolor", "count": 3, "ratio": 1.5, "hd": True, "tags": ["a"]}
    streamed = await stream_chat(chat, {"message": "Draw a cat", "choices": choices})
    assert streamed.types[-1] == "done"
    async with chat.client() as client:
        conversation = await client.get(
            f"/v1/conversations/{streamed.events[0]['conversation_id']}",
            headers=bearer("user-1"),
        )
    (question,) = [m for m in conversation.json()["messages"] if m["role"] == "user"]
    assert question["metadata"]["choices"] == choices


async def conversations_of(chat: MemoryChat, user: str) -> list[Any]:
    async with chat.client() as client:
        listed = await client.get("/v1/conversations", headers=bearer(user))
    conversations: list[Any] = listed.json()["conversations"]
    return conversations


@pytest.mark.parametrize(
    ("panel", "choices", "loc", "allowed"),
    [
        pytest.param(
            "pictures", {"defaultStyle": "cubist"}, ["defaultStyle"], "watercolor", id="a value"
        ),
        pytest.param(
            "content",
            {"defaultTone": "Friendly", "defaultPlatforms": ["X", "Myspace"]},
            ["defaultPlatforms", 1],
            "LinkedIn",
            id="a list's element",
        ),
        pytest.param(
            "video", {"defaultDuration": 601}, ["defaultDuration"], None, id="out of range"
        ),
        pytest.param(
            "pictures", {"colour": "red"}, ["colour"], "defaultStyle", id="an unknown field"
        ),
    ],
)
async def test_a_choice_a_known_panel_does_not_take_is_422_and_nothing_is_stored(
    chat: MemoryChat, panel: str, choices: dict[str, Any], loc: list[Any], allowed: str | None
) -> None:
    user = f"chooser-{time.monotonic_ns()}"
    streamed = await stream_chat(
        chat, {"message": "Draw a cat", "panel": panel, "choices": choices}, user=user
    )
    assert streamed.status == 422, streamed.events
    assert streamed.headers["content-type"] == "application/json"
    error = streamed.body["error"]
    assert error["code"] == "invalid_request"
    (problem,) = error["details"]
    assert problem["loc"] == ["body", "choices", *loc]
    assert ".".join(str(part) for part in problem["loc"]) in error["message"]
    if allowed is None:
        assert "allowed" not in problem
    else:
        assert allowed in problem["allowed"]
    assert await conversations_of(chat, user) == []


async def test_choices_without_a_panel_or_for_an_unknown_one_are_stored_as_they_come(
    chat: MemoryChat,
) -> None:
    for body in (
        {"message": "Draw a cat", "choices": {"defaultStyle": "cubist"}},
        {"message": "Play a tune", "panel": "audio", "choices": {"tempo": "fast"}},
    ):
        streamed = await stream_chat(chat, body)
        assert streamed.types[-1] == "done", streamed.events


async def test_an_org_panels_options_are_enforced_on_choices(
    start_memory_chat: StartMemoryChat,
) -> None:
    chat = start_memory_chat(org_settings_cache_seconds=0)
    admin = bearer("admin", scopes="org:manage")
    brand = {
        "fields": {
            "voice": {"type": "string", "enum": ["bold", "calm"]},
            "channels": {"type": "string_list", "enum": ["web", "print"]},
        }
    }
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings", json={"preferences": {"panels": {"brand": brand}}}, headers=admin
        )
    assert response.status_code == 200, response.text
    good = {"voice": "calm", "channels": ["print", "web"]}
    streamed = await stream_chat(
        chat, {"message": "Write a slogan", "panel": "brand", "choices": good}, user="ann"
    )
    assert streamed.types[-1] == "done", streamed.events
    refused = await stream_chat(
        chat,
        {"message": "Write a slogan", "panel": "brand", "choices": {"channels": ["radio"]}},
        user="bea",
    )
    assert refused.status == 422, refused.events
    (problem,) = refused.body["error"]["details"]
    assert problem["loc"] == ["body", "choices", "channels", 0]
    assert problem["allowed"] == ["web", "print"]
    assert await conversations_of(chat, "bea") == []
    # Another org has no such panel: its choices are stored as they come.
    elsewhere = await stream_chat(
        chat,
        {"message": "Write a slogan", "panel": "brand", "choices": {"channels": ["radio"]}},
        user="bea",
        org="other-org",
    )
    assert elsewhere.types[-1] == "done", elsewhere.events


@pytest.mark.parametrize(
    "patch",
    [
        '{"daily_spend_cap_usd": 1e300}',
        '{"daily_spend_cap_usd": NaN}',
        '{"low_balance_tokens": ' + "9" * 40 + "}",
        '{"rate_limits": {"user_per_minute": 1e30}}',
        '{"long_context": {"threshold_tokens": 99999999999999999999}}',
    ],
)
async def test_org_settings_numbers_no_store_can_hold_are_refused_and_chat_goes_on(
    chat: MemoryChat, patch: str
) -> None:
    admin = {**bearer("admin", scopes="org:manage"), "Content-Type": "application/json"}
    async with chat.client() as client:
        response = await client.patch("/v1/org/settings", content=patch.encode(), headers=admin)
    assert response.status_code == 422, response.text
    streamed = await stream_chat(chat, {"message": "Still working?"})
    assert streamed.types[-1] == "done", streamed.events


class UserWritesBreak(ClientProxy):
    """The user's message write fails with something no one expects (a bug, not a database
    error), while the preferences read is slow: the failure comes before meta could."""

    def transact_write_items(self, **request: Any) -> Any:
        raise TypeError("a bug in the write path")

    def get_item(self, **request: Any) -> Any:
        if request["Key"]["sk"] == {"S": "PREFERENCES"}:
            time.sleep(0.5)  # meta waits for this read; the failure does not
        return self._client.get_item(**request)


async def test_an_unexpected_failure_after_the_stream_began_still_comes_after_meta(
    start_chat: StartChat, dynamodb: DynamoDBClient
) -> None:
    chat = start_chat(client=UserWritesBreak(dynamodb))
    streamed = await stream_chat(chat, {"message": "Hello"})
    assert streamed.status == 200
    assert streamed.types == ["meta", "error"]
    assert streamed.events[-1]["code"] == "internal_error"
    assert "a bug" not in json.dumps(streamed.events)  # no internals


async def test_concurrent_bad_and_good_requests_do_not_disturb_each_other(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["Good."]))
    bad = raw_json('{"message": "hi", "choices": {"style": NaN}}')

    async def good() -> str:
        return (await stream_chat(chat, {"message": "Hello"})).text

    results = await asyncio.gather(
        *(post(chat, "/v1/chat/stream", bad) for _ in range(5)), *(good() for _ in range(5))
    )
    assert [r.status_code for r in results[:5]] == [422] * 5  # type: ignore[union-attr]
    assert results[5:] == ["Good."] * 5


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"message": ' + b"9" * 5000 + b"}", id="a 5000-digit number"),
        pytest.param(b'{"message": "hi", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", id="deep"),
        pytest.param(b'{"message": "hi"', id="cut short"),
        pytest.param(b"\xff\xfe{}", id="not UTF-8"),
    ],
)
async def test_bodies_python_cannot_read_are_client_errors(chat: MemoryChat, body: bytes) -> None:
    response = await post(chat, "/v1/chat/stream", body)
    assert response.status_code in (400, 422), response.text[:200]
    assert set(response.json()["error"]) >= {"code", "message", "retryable"}


async def test_clients_that_leave_never_count_against_the_model(
    start_memory_chat: StartMemoryChat, upstream: FakeUpstream
) -> None:
    # GIVEN a breaker that would open after two failures of two calls
    hot = MemoryHotStore()
    chat = start_memory_chat(hot=hot, breaker_min_requests=2)
    model = chat.models["m-openai"]
    upstream.script(
        model,
        Script(chunks=["one ", "two ", "three ", "four"], first_chunk_delay=0.2, chunk_delay=0.2),
    )
    # WHEN clients leave, before the first token and in the middle of the answer
    for stop_after in (0, 0, 0, 2, 2, 2):
        await stream_chat(chat, {"message": "Tell me"}, stop_after_tokens=stop_after)
    await asyncio.sleep(0.5)  # the upstream calls are cancelled behind the clients
    # THEN the model's window holds no failure and its circuit is closed
    state = await CircuitBreaker(hot, BreakerPolicy(min_requests=2)).state("openai:m-openai")
    assert state.status == "closed"
    assert state.window is None or state.window.failures == 0
    upstream.script(model, Script(chunks=["Still here."]))
    assert (await stream_chat(chat, {"message": "Hello"})).text == "Still here."
