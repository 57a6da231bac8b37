"""The crisis guardrail through both chat endpoints: the whole app in-process on memory stores,
the main model (``m-openai``) and the classifier model (``m-gemini``, the org's setting) on the
fake upstream, each speaking its provider's wire format."""

from __future__ import annotations

import datetime
import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from parley.auth.identity import Identity
from parley.guardrails.model_classifier import CLASSIFIER_PROMPT
from parley.guardrails.safe_reply import SAFETY_SYSTEM_PROMPT
from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer
from tests.support.chat import MemoryChat, stream_chat
from tests.support.guardrails import CRISIS_EN, CRISIS_ES, THIRD_PARTY, verdict

if TYPE_CHECKING:
    from parley.state.usage import UsageEvent
    from tests.support.chat import StartMemoryChat

pytestmark = pytest.mark.anyio

ORG = "default"
MAIN_ANSWER = "MAIN MODEL ANSWER that must never reach a user in crisis."
IDIOM = "me muero de la risa con este video"
FLAGGED_IDIOM = "me quiero morir de la vergüenza jajaja"


CRISIS_VERDICT = verdict(True, 0.93, "suicide")
CLEAR_VERDICT = verdict(False, 0.9, "none")


@pytest.fixture
def chat(start_memory_chat: StartMemoryChat, upstream: FakeUpstream) -> MemoryChat:
    chat = start_memory_chat()
    upstream.script(chat.models["m-openai"], Script(chunks=[MAIN_ANSWER]))
    return chat


async def set_guardrails(chat: MemoryChat, **values: Any) -> None:
    admin = bearer("admin", scopes="org:manage")
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings",
            json={"guardrails": {"classifier_model": "m-gemini", **values}},
            headers=admin,
        )
    assert response.status_code == 200, response.text


def classifier_calls(chat: MemoryChat, upstream: FakeUpstream) -> list[Any]:
    return upstream.requests_for(chat.models["m-gemini"])


def usage_of(chat: MemoryChat, request_id: str) -> list[UsageEvent]:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    events = chat.stores.usage.for_org_day(ORG, today)
    return sorted((e for e in events if e.request_id == request_id), key=lambda e: e.attempt)


def stored(chat: MemoryChat, conversation_id: str) -> list[Any]:
    owner = Identity(user_id="user-1", org_id=ORG)
    return chat.stores.conversations.get_with_messages(owner, conversation_id)[1]


# The stream ----------------------------------------------------------------------------------


async def test_a_crisis_verdict_replaces_the_answer_with_the_safe_reply(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)

    streamed = await stream_chat(chat, {"message": CRISIS_EN})

    assert streamed.status == 200
    assert streamed.types[:2] == ["meta", "guardrail"]
    assert streamed.types[-1] == "done"
    guardrail = streamed.of("guardrail")[0]
    assert guardrail["kind"] == "crisis"
    assert guardrail["action"] == "safe_reply"
    assert (guardrail["category"], guardrail["stage"]) == ("suicide", "model")
    assert guardrail["confidence"] == 0.93
    assert guardrail["language"] == "en"
    assert "988" in json.dumps(guardrail["resources"])  # English, no locale: the US lines
    assert "MAIN MODEL" not in streamed.text
    assert "988" in streamed.text
    done = streamed.of("done")[0]
    assert (done["finish_reason"], done["model"], done["provider"]) == (
        "stop",
        "parley-guardrail",
        "parley",
    )
    # The classifier was asked once, at temperature 0, with its own system prompt.
    [call] = classifier_calls(chat, upstream)
    assert CLASSIFIER_PROMPT[:40] in json.dumps(call.body)
    # In Gemini's JSON mode (OpenAI's is response_format: test_guardrails_eval_model).
    assert call.body["generationConfig"]["responseMimeType"] == "application/json"
    assert call.body["generationConfig"]["temperature"] == 0
    # Both messages stored and marked; nothing of the message in the mark.
    messages = stored(chat, streamed.events[0]["conversation_id"])
    assert [(m.role, m.status) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert messages[1].content == streamed.text
    for message in messages:
        mark = message.metadata["guardrail"]
        assert (mark["action"], mark["category"], mark["stage"]) == (
            "safe_reply",
            "suicide",
            "model",
        )
        assert "pills" not in json.dumps(mark)
    # Usage: the main model's call (replaced: no failure of the model), then the classifier's.
    main, classifier = usage_of(chat, streamed.events[0]["request_id"])
    assert (main.model, main.success, main.finish_reason) == (
        "m-openai",
        True,
        "guardrail_replaced",
    )
    assert (classifier.model, classifier.route, classifier.task_type) == (
        "m-gemini",
        "guardrail",
        "guardrail",
    )
    assert (classifier.input_tokens, classifier.output_tokens, classifier.success) == (
        180,
        30,
        True,
    )
    assert classifier.cost_usd > 0


async def test_spanish_gets_the_safe_reply_in_spanish_with_spains_lines(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    streamed = await stream_chat(chat, {"message": CRISIS_ES})
    guardrail = streamed.of("guardrail")[0]
    assert guardrail["language"] == "es"
    assert "024" in streamed.text
    assert "MAIN MODEL" not in streamed.text


async def test_the_request_locale_chooses_the_countrys_lines(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    streamed = await stream_chat(chat, {"message": CRISIS_ES, "locale": "es-MX"})
    assert "800 911 2000" in streamed.text


async def test_a_flagged_message_the_classifier_clears_gets_the_ordinary_answer(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CLEAR_VERDICT)
    streamed = await stream_chat(chat, {"message": CRISIS_EN})
    assert streamed.types[0] == "meta"
    assert "guardrail" not in streamed.types
    assert streamed.text == MAIN_ANSWER
    assert len(classifier_calls(chat, upstream)) == 1
    messages = stored(chat, streamed.events[0]["conversation_id"])
    assert messages[0].metadata["guardrail"]["action"] == "none"


async def test_a_flagged_idiom_the_classifier_clears_gets_the_ordinary_answer(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CLEAR_VERDICT)
    # Stage 1 flags it (a death wish, laughing): the classifier decides, and clears it.
    streamed = await stream_chat(chat, {"message": FLAGGED_IDIOM})
    assert "guardrail" not in streamed.types
    assert streamed.text == MAIN_ANSWER
    assert len(classifier_calls(chat, upstream)) == 1
    mark = stored(chat, streamed.events[0]["conversation_id"])[0].metadata["guardrail"]
    assert (mark["action"], mark["stage"]) == ("none", "model")


async def test_a_crisis_below_the_threshold_gets_the_ordinary_answer(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat, crisis_threshold=0.8)
    upstream.script(chat.models["m-gemini"], verdict(True, 0.75, "suicide"))
    streamed = await stream_chat(chat, {"message": CRISIS_EN})
    assert streamed.text == MAIN_ANSWER


async def test_an_idiom_stops_at_the_prefilter_with_no_classifier_call(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    streamed = await stream_chat(chat, {"message": IDIOM})
    assert streamed.text == MAIN_ANSWER
    assert classifier_calls(chat, upstream) == []
    assert "guardrail" not in stored(chat, streamed.events[0]["conversation_id"])[0].metadata


@pytest.mark.parametrize(
    ("script", "fail_safe"),
    [
        (Script(chunks=["I think this user is fine."]), "malformed"),
        (Script(chunks=['{"is_crisis": "maybe", "confidence": 2}']), "malformed"),
        (Script(http_status=500), "error"),
    ],
)
async def test_a_classifier_that_fails_leaves_the_decision_to_the_offline_classifier(
    chat: MemoryChat, upstream: FakeUpstream, script: Script, fail_safe: str
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], script)
    streamed = await stream_chat(chat, {"message": CRISIS_EN})
    guardrail = streamed.of("guardrail")[0]
    assert (guardrail["action"], guardrail["stage"]) == ("safe_reply", "offline")
    assert "MAIN MODEL" not in streamed.text
    mark = stored(chat, streamed.events[0]["conversation_id"])[0].metadata["guardrail"]
    assert mark["fail_safe"] == fail_safe
    classifier = usage_of(chat, streamed.events[0]["request_id"])[-1]
    assert (classifier.route, classifier.success) == ("guardrail", False)
    assert classifier.error_code == f"guardrail_{fail_safe}"


async def test_a_classifier_that_hangs_still_yields_the_safe_reply_within_the_budget(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat, classifier_timeout_seconds=0.5)
    upstream.script(chat.models["m-gemini"], Script(chunks=["{}"], first_chunk_delay=20))
    started = time.monotonic()
    streamed = await stream_chat(chat, {"message": CRISIS_EN})
    elapsed = time.monotonic() - started
    guardrail = streamed.of("guardrail")[0]
    assert (guardrail["action"], guardrail["stage"]) == ("safe_reply", "offline")
    # Bounded by the budget, not by the classifier: it would have taken 20 s.
    assert elapsed < 10
    mark = stored(chat, streamed.events[0]["conversation_id"])[0].metadata["guardrail"]
    assert mark["fail_safe"] == "timeout"


async def test_a_classifier_model_without_a_key_gives_way_to_the_cheapest_configured(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat, classifier_model="m-nokey")
    # Every configured model of the test catalog costs the same: the first by name is asked.
    upstream.script(chat.models["m-anthropic"], CRISIS_VERDICT)
    streamed = await stream_chat(chat, {"message": CRISIS_ES})
    assert streamed.of("guardrail")[0]["stage"] == "model"
    assert len(upstream.requests_for(chat.models["m-anthropic"])) == 1
    assert "024" in streamed.text


async def test_a_crisis_gets_the_safe_reply_even_when_every_model_fails(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-openai"], Script(http_status=500))
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    streamed = await stream_chat(chat, {"message": CRISIS_EN})
    assert streamed.types[1] == "guardrail"
    assert streamed.types[-1] == "done"
    assert "988" in streamed.text


async def test_someone_else_at_risk_gets_the_answer_then_resources_for_helping(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], verdict(False, 0.9, "third_party"))
    streamed = await stream_chat(chat, {"message": THIRD_PARTY})
    assert streamed.types[:2] == ["meta", "guardrail"]
    guardrail = streamed.of("guardrail")[0]
    assert (guardrail["action"], guardrail["category"]) == ("resources", "third_party")
    assert streamed.text.startswith(MAIN_ANSWER)
    assert "988" in streamed.text[len(MAIN_ANSWER) :]


async def test_after_a_crisis_the_conversation_goes_on_under_the_safety_prompt(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat, cooldown_minutes=30)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    first = await stream_chat(chat, {"message": CRISIS_EN})
    conversation = first.events[0]["conversation_id"]
    second = await stream_chat(
        chat,
        {"message": "thanks. can you help me with my homework?", "conversation_id": conversation},
    )
    assert second.text == MAIN_ANSWER
    main_request = upstream.requests_for(chat.models["m-openai"])[-1]
    assert SAFETY_SYSTEM_PROMPT[:60] in json.dumps(main_request.body)
    assert stored(chat, conversation)[-1].metadata["safety_prompt"] is True
    # Another conversation of the same user is not under it.
    other = await stream_chat(chat, {"message": "hello again"})
    assert other.text == MAIN_ANSWER
    assert SAFETY_SYSTEM_PROMPT[:60] not in json.dumps(
        upstream.requests_for(chat.models["m-openai"])[-1].body
    )


async def test_an_org_that_turns_the_guardrail_off_gets_ordinary_answers(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat, enabled=False)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    streamed = await stream_chat(chat, {"message": CRISIS_EN})
    assert streamed.text == MAIN_ANSWER
    assert classifier_calls(chat, upstream) == []


async def test_an_orgs_own_safe_reply_text_keeps_the_lines(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    own = "Estamos contigo. {resources} Escríbenos cuando quieras {de verdad}."
    await set_guardrails(chat, safe_replies={"es": own})
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    streamed = await stream_chat(chat, {"message": CRISIS_ES})
    assert streamed.text.startswith("Estamos contigo.")
    assert "024" in streamed.text
    assert "{de verdad}" in streamed.text


async def test_bad_guardrail_settings_are_422(chat: MemoryChat) -> None:
    admin = bearer("admin", scopes="org:manage")
    async with chat.client() as client:
        for bad in (
            {"country": "spain"},
            {"crisis_threshold": 1.5},
            {"classifier_timeout_seconds": 0},
            {"safe_replies": {"fr": "bonjour"}},
            {"safe_replies": {"es": "   "}},
            {"classifier_model": "not-in-the-catalog"},
        ):
            response = await client.patch(
                "/v1/org/settings", json={"guardrails": bad}, headers=admin
            )
            assert response.status_code == 422, (bad, response.text)


async def test_a_bad_locale_is_422(chat: MemoryChat) -> None:
    streamed = await stream_chat(chat, {"message": "hola", "locale": "not a locale!"})
    assert streamed.status == 422


# The OpenAI-compatible endpoint ---------------------------------------------------------------


async def completion(chat: MemoryChat, message: str, **extra: Any) -> Any:
    async with chat.client() as client:
        return await client.post(
            "/v1/chat/completions",
            json={"model": "auto", "messages": [{"role": "user", "content": message}], **extra},
            headers=bearer("user-1"),
        )


async def test_completions_answer_a_crisis_with_the_safe_reply_and_say_why(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    response = await completion(chat, CRISIS_EN)
    assert response.status_code == 200, response.text
    body = response.json()
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant"
    assert "988" in message["content"]
    assert "MAIN MODEL" not in message["content"]
    assert body["model"] == "parley-guardrail"
    guardrail = body["parley"]["guardrail"]
    assert (guardrail["action"], guardrail["category"], guardrail["stage"]) == (
        "safe_reply",
        "suicide",
        "model",
    )
    # An ordinary answer has no such field.
    upstream.script(chat.models["m-gemini"], CLEAR_VERDICT)
    plain = (await completion(chat, "What is the capital of France?")).json()
    assert "parley" not in plain


async def test_streamed_completions_say_why_in_a_chunk_before_the_text(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    response = await completion(chat, CRISIS_ES, stream=True)
    chunks = [
        json.loads(line[6:])
        for line in response.text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]
    flagged = [chunk for chunk in chunks if "parley" in chunk]
    assert len(flagged) == 1
    assert flagged[0]["parley"]["guardrail"]["action"] == "safe_reply"
    position = chunks.index(flagged[0])
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[position:])
    before = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:position])
    assert before == ""
    assert "024" in text
    assert response.text.rstrip().endswith("data: [DONE]")


async def test_after_a_crisis_the_users_next_completions_go_under_the_safety_prompt(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await set_guardrails(chat)
    upstream.script(chat.models["m-gemini"], CRISIS_VERDICT)
    assert (await completion(chat, CRISIS_EN)).status_code == 200
    answered = await completion(chat, "thanks, can you recommend a book?")
    assert answered.json()["choices"][0]["message"]["content"] == MAIN_ANSWER
    main_request = upstream.requests_for(chat.models["m-openai"])[-1]
    assert SAFETY_SYSTEM_PROMPT[:60] in json.dumps(main_request.body)
