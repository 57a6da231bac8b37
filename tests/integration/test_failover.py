"""Failover end to end: two catalog models on two fake upstreams (OpenAI's wire format on one,
Anthropic's on the other), faults scripted on the first, the chat app in front (in-process, on
memory stores)."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING

import anyio
import pytest

from parley.auth import Identity
from parley.routing.failover import CONTINUE_PROMPT
from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer
from tests.support.chat import ROUTES, MemoryChat, stream_chat
from tests.support.servers import UnansweredPort

if TYPE_CHECKING:
    from collections.abc import Iterator

    from parley.state.usage import UsageEvent
    from tests.support.chat import StartMemoryChat


pytestmark = pytest.mark.anyio

CHAIN = {route: ["m-openai", "m-backup"] for route in ROUTES}
CUT = {"upstream_stream_error", "upstream_unavailable"}


@pytest.fixture(scope="module")
def backup() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture
def start(start_memory_chat: StartMemoryChat, backup: FakeUpstream) -> StartMemoryChat:
    """Chat apps whose light chain is two models, on the upstream and on ``backup``."""

    def started(**overrides: object) -> MemoryChat:
        return start_memory_chat(routing=CHAIN, backup=backup, **overrides)

    return started


@pytest.fixture
def chat(start: StartMemoryChat) -> MemoryChat:
    return start()


def usage_of(chat: MemoryChat, request_id: str) -> list[UsageEvent]:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    events = chat.stores.usage.for_org_day("default", today)
    return sorted((e for e in events if e.request_id == request_id), key=lambda e: e.attempt)


async def test_a_stream_cut_mid_way_is_finished_by_the_next_model_with_provider_switched(
    chat: MemoryChat, upstream: FakeUpstream, backup: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(chunks=["The ", "answer ", "is"], cut_after=2))
    backup.script(chat.models["m-backup"], Script(chunks=["forty-", "two."], usage=(40, 4)))

    streamed = await stream_chat(chat, {"message": "What is the answer?"})

    assert streamed.types == [
        "meta",
        "token",
        "token",
        "provider_switched",
        "token",
        "token",
        "done",
    ]
    assert streamed.text == "The answer forty-two."
    switch = streamed.of("provider_switched")[0]
    assert switch["from"] == {"provider": "openai", "model": "m-openai"}
    assert switch["to"] == {"provider": "anthropic", "model": "m-backup"}
    assert switch["after_tokens"] == 2
    # A dropped connection: the SDK reports a broken stream or a lost connection.
    assert switch["reason"] in CUT
    done = streamed.events[-1]
    assert (done["finish_reason"], done["model"], done["provider"]) == (
        "stop",
        "m-backup",
        "anthropic",
    )

    # The next model was asked to continue the partial answer, not to start again.
    continued = backup.requests_for(chat.models["m-backup"])[-1].body
    sent = json.dumps(continued["messages"])
    assert "The answer " in sent
    assert CONTINUE_PROMPT in sent

    # The stored reply is the whole answer, complete; each call is one usage event.
    meta = streamed.events[0]
    _, messages = chat.stores.conversations.get_with_messages(
        Identity("user-1", "default"), meta["conversation_id"]
    )
    assert (messages[1].content, messages[1].status) == ("The answer forty-two.", "complete")
    events = usage_of(chat, meta["request_id"])
    assert [(e.model, e.success, e.failover) for e in events] == [
        ("m-openai", False, False),
        ("m-backup", True, True),
    ]
    assert (events[0].error_code, events[1].error_code) == (switch["reason"], None)
    assert events[0].output_tokens > 0  # what the cut stream produced is charged
    assert done["usage"]["input_tokens"] == sum(e.input_tokens for e in events)
    assert done["usage"]["output_tokens"] == sum(e.output_tokens for e in events)
    assert done["cost_usd"] == pytest.approx(sum(e.cost_usd for e in events))
    assert all(e.route_reason and e.route == "light" for e in events)


@pytest.mark.parametrize(
    ("fault", "codes"),
    [
        (Script(http_status=429, retry_after=0.1), {"upstream_rate_limited"}),
        (Script(http_status=500), {"upstream_unavailable"}),
        (Script(http_status=529), {"upstream_unavailable"}),
        (Script(malformed_after=0), {"upstream_stream_error"}),
        (Script(error_after=0), {"upstream_stream_error"}),
        (Script(cut_after=0), CUT),
        (Script(stall_after=0, stall_seconds=5), {"upstream_timeout"}),
    ],
    ids=["429-retry-after", "500", "529", "malformed", "in-band-error", "cut", "stall"],
)
async def test_a_failure_before_the_first_token_is_retried_then_fails_over_invisibly(
    start: StartMemoryChat,
    upstream: FakeUpstream,
    backup: FakeUpstream,
    fault: Script,
    codes: set[str],
) -> None:
    chat: MemoryChat = start(first_token_timeout_seconds=0.3)
    upstream.script(chat.models["m-openai"], fault)
    backup.script(chat.models["m-backup"], Script(chunks=["Still ", "here."]))

    with anyio.fail_after(10):
        streamed = await stream_chat(chat, {"message": "Hello?"})

    assert streamed.types == ["meta", "token", "token", "done"]
    assert streamed.text == "Still here."
    assert streamed.events[-1]["model"] == "m-backup"
    # Retried once on the first model (honouring Retry-After), then the next one answered.
    assert len(upstream.requests_for(chat.models["m-openai"])) == 2
    assert len(backup.requests_for(chat.models["m-backup"])) == 1
    events = usage_of(chat, streamed.events[0]["request_id"])
    assert [(e.model, e.failover) for e in events] == [
        ("m-openai", False),
        ("m-openai", True),
        ("m-backup", True),
    ]
    assert {events[0].error_code, events[1].error_code} <= codes
    assert events[2].error_code is None
    assert [e.input_tokens + e.output_tokens for e in events[:2]] == [0, 0]  # nothing billed


async def test_a_host_that_does_not_answer_is_a_connect_timeout_and_fails_over(
    start: StartMemoryChat, backup: FakeUpstream
) -> None:
    silent = UnansweredPort()
    try:
        chat: MemoryChat = start(
            base_urls={"m-openai": f"{silent.url}/v1"},
            provider_connect_timeout_seconds=0.2,
            retries_per_model=0,
        )
        backup.script(chat.models["m-backup"], Script(chunks=["Reached."]))
        with anyio.fail_after(10):
            streamed = await stream_chat(chat, {"message": "Anyone?"})
        assert streamed.types == ["meta", "token", "done"]
        events = usage_of(chat, streamed.events[0]["request_id"])
        assert [(e.model, e.error_code) for e in events] == [
            ("m-openai", "upstream_timeout"),
            ("m-backup", None),
        ]
    finally:
        silent.close()


async def test_when_every_model_fails_the_stream_ends_with_an_error_never_an_empty_done(
    chat: MemoryChat, upstream: FakeUpstream, backup: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(http_status=500))
    backup.script(chat.models["m-backup"], Script(http_status=503))
    streamed = await stream_chat(chat, {"message": "Hello?"})
    assert streamed.types == ["meta", "error"]
    error = streamed.events[-1]
    assert error["code"] == "upstream_unavailable"
    assert error["retryable"] is True
    assert [a["model"] for a in error["details"]["attempts"]] == ["m-openai"] * 2 + ["m-backup"] * 2
    events = usage_of(chat, streamed.events[0]["request_id"])
    assert len(events) == 4
    assert not any(e.success for e in events)


async def test_a_non_streamed_completion_fails_over_and_answers_5xx_when_all_fail(
    chat: MemoryChat, upstream: FakeUpstream, backup: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(http_status=500))
    backup.script(chat.models["m-backup"], Script(chunks=["Fine."]))
    body = {"model": "auto", "messages": [{"role": "user", "content": "Hi"}]}
    async with chat.client() as client:
        response = await client.post("/v1/chat/completions", json=body, headers=bearer("user-1"))
        assert response.status_code == 200
        assert response.json()["model"] == "m-backup"
        assert response.json()["choices"][0]["message"]["content"] == "Fine."

        backup.script(chat.models["m-backup"], Script(http_status=500))
        response = await client.post("/v1/chat/completions", json=body, headers=bearer("user-1"))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"


async def test_an_open_circuit_skips_the_failing_model_without_calling_it(
    start: StartMemoryChat, upstream: FakeUpstream, backup: FakeUpstream
) -> None:
    chat: MemoryChat = start(breaker_min_requests=2, breaker_open_seconds=60, retries_per_model=0)
    model = chat.models["m-openai"]
    upstream.script(model, Script(http_status=500))
    backup.script(chat.models["m-backup"], Script(chunks=["Backup."]))
    for _ in range(2):  # two failures of two calls: the circuit opens
        assert (await stream_chat(chat, {"message": "Hi"})).text == "Backup."
    calls = len(upstream.requests_for(model))

    streamed = await stream_chat(chat, {"message": "Hi"})

    assert streamed.text == "Backup."
    assert len(upstream.requests_for(model)) == calls  # skipped, not called
    events = usage_of(chat, streamed.events[0]["request_id"])
    assert [(e.model, e.attempt) for e in events] == [("m-backup", 0)]


async def test_a_named_model_fails_over_along_its_tier_unless_the_org_turned_it_off(
    chat: MemoryChat, upstream: FakeUpstream, backup: FakeUpstream
) -> None:
    upstream.script(chat.models["m-openai"], Script(http_status=500))
    backup.script(chat.models["m-backup"], Script(chunks=["Covered."]))
    streamed = await stream_chat(chat, {"message": "Hi", "model": "m-openai"})
    assert streamed.text == "Covered."
    assert streamed.events[0]["route"]["fallbacks"] == ["m-backup"]

    admin = {**bearer("admin", scopes="org:manage"), "Content-Type": "application/json"}
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings",
            json={"failover": {"named_models": False}},
            headers=admin,
        )
    assert response.status_code == 200, response.text
    streamed = await stream_chat(chat, {"message": "Hi", "model": "m-openai"})
    assert streamed.types == ["meta", "error"]
    assert streamed.events[0]["route"]["fallbacks"] == []


async def test_a_bug_in_an_adapter_is_a_500_and_never_quietly_failed_over(
    chat: MemoryChat,
    upstream: FakeUpstream,
    backup: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the OpenAI adapter's own code breaking on a good stream, and a healthy backup
    import parley.providers.openai as adapter

    def broken(value: object, what: str) -> object:
        raise AttributeError("a bug in Parley's parsing")

    monkeypatch.setattr(adapter, "an_object", broken)
    upstream.script(chat.models["m-openai"], Script(chunks=["fine"]))
    backup.script(chat.models["m-backup"], Script(chunks=["Backup."]))
    calls = len(backup.requests)
    body = {"model": "auto", "messages": [{"role": "user", "content": "Hi"}]}
    async with chat.client() as client:
        response = await client.post("/v1/chat/completions", json=body, headers=bearer("user-1"))
    # THEN a logged 500 in the error shape, and the backup was never asked to cover for it
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "bug" not in response.text
    assert len(backup.requests) == calls
