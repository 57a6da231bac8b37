"""Learned routing through the chat API: the whole app in-process on memory stores, a light
chain of two models on the fake upstream, and the org's routing advice in its rollup store."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer
from tests.support.chat import ROUTES, MemoryChat, stream_chat

if TYPE_CHECKING:
    from parley.state.usage import UsageEvent
    from tests.support.chat import StartMemoryChat

pytestmark = pytest.mark.anyio

ORG = "default"
# Every route tries m-openai, then m-anthropic (both on the one fake upstream).
CHAIN = {route: ["m-openai", "m-anthropic"] for route in ROUTES}
ADVICE = {
    "computed_at": "2026-12-01T10:00:00+00:00",
    "window_days": 30,
    "task_types": {
        "general_chat": [
            {"model": "m-anthropic", "provider": "anthropic", "score": 87.2, "samples": 120,
             "confidence": 80.0},
            {"model": "m-openai", "provider": "openai", "score": 61.0, "samples": 300,
             "confidence": 90.0},
        ]
    },
}  # fmt: skip


@pytest.fixture
def chat(start_memory_chat: StartMemoryChat, upstream: FakeUpstream) -> MemoryChat:
    chat = start_memory_chat(routing=CHAIN)
    upstream.script(chat.models["m-openai"], Script(chunks=["From OpenAI."]))
    upstream.script(chat.models["m-anthropic"], Script(chunks=["From Anthropic."]))
    chat.stores.rollups.put_advice(ORG, ADVICE)
    return chat


async def set_learned_routing(chat: MemoryChat, value: dict[str, Any]) -> None:
    admin = bearer("admin", scopes="org:manage")
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings", json={"learned_routing": value}, headers=admin
        )
    assert response.status_code == 200, response.text


def usage_of(chat: MemoryChat, request_id: str) -> list[UsageEvent]:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return [e for e in chat.stores.usage.for_org_day(ORG, today) if e.request_id == request_id]


async def test_with_the_setting_off_the_rules_chain_answers_and_the_advice_is_unused(
    chat: MemoryChat,
) -> None:
    streamed = await stream_chat(chat, {"message": "Hi there"})
    route = streamed.events[0]["route"]
    assert (route["model"], route["fallbacks"]) == ("m-openai", ["m-anthropic"])
    assert route["reason"].startswith("auto mode: light tier")
    assert "learned" not in route["reason"]
    assert streamed.text == "From OpenAI."


async def test_with_the_setting_on_the_advised_second_model_answers_first(
    chat: MemoryChat,
) -> None:
    await set_learned_routing(chat, {"enabled": True, "exploration": 0})
    streamed = await stream_chat(chat, {"message": "Hi there"})
    meta = streamed.events[0]
    route = meta["route"]
    assert (route["model"], route["provider"]) == ("m-anthropic", "anthropic")
    assert route["fallbacks"] == ["m-openai"]
    assert route["task_type"] == "general_chat"
    assert route["reason"].startswith(
        "learned routing: m-anthropic first for general_chat "
        "(score 87.2, 120 samples, confidence 80); auto mode: light tier for "
    )
    assert streamed.text == "From Anthropic."
    # the usage event carries the same reason, so analytics can tell learned from rule routing
    (event,) = usage_of(chat, meta["request_id"])
    assert (event.model, event.route_reason) == ("m-anthropic", route["reason"])

    # a request that names a model is left alone
    named = await stream_chat(chat, {"message": "Hi there", "model": "m-openai"})
    assert named.events[0]["route"]["model"] == "m-openai"
    assert "learned" not in named.events[0]["route"]["reason"]

    # and turning it off again goes back to the rules
    await set_learned_routing(chat, {"enabled": False})
    again = await stream_chat(chat, {"message": "Hi there"})
    assert again.events[0]["route"]["model"] == "m-openai"


async def test_with_no_advice_for_the_task_type_the_rules_chain_is_kept_and_said_so(
    chat: MemoryChat,
) -> None:
    await set_learned_routing(chat, {"enabled": True})
    streamed = await stream_chat(chat, {"message": "Write a short poem about the sea"})
    route = streamed.events[0]["route"]
    assert route["task_type"] == "creative"
    assert route["model"] == "m-openai"
    assert route["reason"].startswith(
        "learned routing: rules chain kept (no advice for creative yet); auto mode: "
    )


async def test_malformed_advice_is_ignored_and_the_chat_answers(chat: MemoryChat) -> None:
    chat.stores.rollups.put_advice(ORG, {"task_types": "everything to m-anthropic"})
    await set_learned_routing(chat, {"enabled": True})
    streamed = await stream_chat(chat, {"message": "Hi there"})
    assert streamed.types[-1] == "done"
    assert streamed.events[0]["route"]["model"] == "m-openai"
    assert streamed.events[0]["route"]["reason"].startswith(
        "learned routing: rules chain kept (no advice for this org yet)"
    )
