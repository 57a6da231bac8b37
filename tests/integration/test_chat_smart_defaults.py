"""Smart defaults in the chat stream's ``meta``: the caller's preferences for the request's
panel, with their source, through the chat app in-process on memory stores (and on a live
server over moto where a DynamoDB read is made to fail or wait), the fake upstreams behind."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from parley.apps.preferences import create_preferences_app
from parley.auth import Identity
from parley.errors import ServiceUnavailable
from parley.preferences import smart
from parley.preferences.repository import LearnedValue, PreferencesRepository
from parley.preferences.smart import SmartDefaults
from parley.state.versioned import VersionedTable
from tests.fakes.upstreams import FakeUpstream, Script
from tests.support.asgi import bearer, client_for
from tests.support.chat import ChatTarget, MemoryChat, StartChat, stream_chat
from tests.support.clients import ClientProxy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.preferences.repository import StoredPreferences
    from parley.state.versioned import VersionedItems

pytestmark = pytest.mark.anyio


async def put_preferences(
    settings: Settings, documents: VersionedItems, user: str, body: dict[str, Any]
) -> None:
    """Through the preferences function's app, on the documents the chat reads."""
    app = create_preferences_app(settings, documents=documents)
    async with client_for(app) as http:
        response = await http.put("/v1/preferences", headers=bearer(user), json=body)
    assert response.status_code == 200, response.text


async def meta_of(
    chat: ChatTarget, upstream: FakeUpstream, body: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    upstream.script(chat.models["m-openai"], Script(chunks=["Sure."], usage=(5, 1)))
    streamed = await stream_chat(chat, body, **kwargs)
    assert streamed.types == ["meta", "token", "done"], streamed.events
    meta: dict[str, Any] = streamed.events[0]
    return meta


async def test_a_preference_the_user_set_is_in_meta_for_a_matching_message(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await put_preferences(
        chat.settings,
        chat.stores.documents,
        "alice",
        {"preferences": {"pictures": {"defaultStyle": "watercolor"}}},
    )
    PreferencesRepository(chat.stores.documents).learn(
        "default",
        "alice",
        {
            "pictures.defaultProvider": LearnedValue(
                "dalle", 0.82, 9, "2026-12-01T09:00:00.000Z", messages=9, support={"dalle": 7.5}
            )
        },
        run_id="run-1",
    )
    meta = await meta_of(chat, upstream, {"message": "make me a picture of a cat"}, user="alice")
    assert meta["smart_defaults"] == {
        "panel": "pictures",
        "detected_from": "message",
        "values": {
            "defaultStyle": {"value": "watercolor", "source": "user"},
            "defaultProvider": {
                "value": "dalle",
                "source": "learned",
                "confidence": 0.82,
                "messages": 9,
            },
        },
    }


async def test_a_value_learned_before_messages_were_kept_has_null_messages_in_meta(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    PreferencesRepository(chat.stores.documents).learn(
        "default",
        "alice",
        {"pictures.defaultStyle": LearnedValue("anime", 0.7, 6, "2026-12-01T09:00:00.000Z")},
        run_id="run-1",
    )
    meta = await meta_of(chat, upstream, {"message": "draw me a cat"}, user="alice")
    assert meta["smart_defaults"]["values"] == {
        "defaultStyle": {"value": "anime", "source": "learned", "confidence": 0.7, "messages": None}
    }
    # Its usage event says a learned default was given (the alerts' coverage figure); a
    # request with none does not.
    plain = await meta_of(chat, upstream, {"message": "draw me a cat"}, user="bob")
    marks = {
        event.request_id: event.learned_defaults
        for event in chat.stores.usage.for_org_day("default", _today())
    }
    assert (marks[meta["request_id"]], marks[plain["request_id"]]) == (True, False)


async def test_the_requested_panel_wins_over_the_message(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await put_preferences(
        chat.settings,
        chat.stores.documents,
        "alice",
        {"preferences": {"video": {"defaultDuration": 12}}},
    )
    meta = await meta_of(
        chat, upstream, {"message": "make me a picture of a cat", "panel": "video"}, user="alice"
    )
    assert meta["smart_defaults"] == {
        "panel": "video",
        "detected_from": "request",
        "values": {"defaultDuration": {"value": 12, "source": "user"}},
    }


async def test_another_user_gets_no_values_and_an_unrelated_message_no_panel(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await put_preferences(
        chat.settings,
        chat.stores.documents,
        "alice",
        {"preferences": {"pictures": {"defaultStyle": "watercolor"}}},
    )
    bob = await meta_of(chat, upstream, {"message": "make me a picture of a cat"}, user="bob")
    assert bob["smart_defaults"] == {"panel": "pictures", "detected_from": "message", "values": {}}
    elsewhere = await meta_of(
        chat, upstream, {"message": "make me a picture of a cat"}, user="alice", org="other"
    )
    assert elsewhere["smart_defaults"]["values"] == {}
    plain = await meta_of(chat, upstream, {"message": "What is 2 + 2?"}, user="alice")
    assert plain["smart_defaults"] == {"panel": None, "detected_from": None, "values": {}}


async def test_a_replayed_answer_gives_the_same_meta(
    chat: MemoryChat, upstream: FakeUpstream
) -> None:
    await put_preferences(
        chat.settings,
        chat.stores.documents,
        "alice",
        {"preferences": {"pictures": {"defaultStyle": "watercolor"}}},
    )
    body = {"message": "draw a logo"}
    key = {"Idempotency-Key": "smart-1"}
    first = await meta_of(chat, upstream, body, user="alice", headers=key)
    replayed = await stream_chat(chat, body, user="alice", headers=key)
    assert replayed.events[-1]["replayed"] is True
    assert replayed.events[0]["smart_defaults"] == first["smart_defaults"]
    assert first["smart_defaults"]["values"]["defaultStyle"]["source"] == "user"


class PreferencesReadsFail(ClientProxy):
    """A DynamoDB client whose preferences reads fail (throttled); everything else works."""

    def get_item(self, **request: Any) -> Any:
        if request["Key"]["sk"] == {"S": "PREFERENCES"}:
            error = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}
            raise ClientError(error, "GetItem")  # type: ignore[arg-type]
        return self._client.get_item(**request)


async def test_the_chat_goes_on_when_the_preferences_read_fails(
    dynamodb: DynamoDBClient,
    upstream: FakeUpstream,
    start_chat: StartChat,
) -> None:
    broken = PreferencesReadsFail(dynamodb)
    chat = start_chat(client=broken)
    meta = await meta_of(chat, upstream, {"message": "make me a picture"}, user="alice")
    assert meta["smart_defaults"] == {"panel": None, "detected_from": None, "values": {}}


class BrokenRepository:
    def get(self, org_id: str, user_id: str) -> StoredPreferences:
        raise ServiceUnavailable("The database is unreachable.")


class Warnings:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def warning(self, message: str, **_: Any) -> None:
        self.messages.append(message)


async def test_a_failed_preferences_read_gives_no_smart_defaults_and_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = Warnings()
    monkeypatch.setattr(smart, "logger", recorder)
    reader = SmartDefaults(BrokenRepository())  # type: ignore[arg-type]
    assert await reader.read(Identity("alice", "acme")) is None
    assert recorder.messages == ["Chatting without smart defaults: the preferences read failed"]


class PreferencesReadsWaitForTheProvider(ClientProxy):
    """A DynamoDB client whose preferences read returns only once the upstream has been
    called (bounded): it records whether the provider call started while it was still out."""

    def __init__(self, client: DynamoDBClient, upstream: FakeUpstream) -> None:
        super().__init__(client)
        self._upstream = upstream
        self.provider_called_first = False

    def get_item(self, **request: Any) -> Any:
        if request["Key"]["sk"] == {"S": "PREFERENCES"}:
            for _ in range(500):  # up to 5 s: a pipeline that waited for this read never calls
                if self._upstream.requests:
                    self.provider_called_first = True
                    break
                time.sleep(0.01)
        return self._client.get_item(**request)


async def test_the_preferences_read_overlaps_the_providers_first_token_and_meta_stays_first(
    settings: Settings,
    dynamodb: DynamoDBClient,
    upstream: FakeUpstream,
    start_chat: StartChat,
) -> None:
    await put_preferences(
        settings,
        VersionedTable(settings.accounts_table, client=dynamodb),
        "alice",
        {"preferences": {"pictures": {"defaultStyle": "ink"}}},
    )
    upstream.requests.clear()
    slow = PreferencesReadsWaitForTheProvider(dynamodb, upstream)
    chat = start_chat(client=slow)
    meta = await meta_of(chat, upstream, {"message": "make me a picture"}, user="alice")
    assert slow.provider_called_first
    assert meta["smart_defaults"]["values"] == {"defaultStyle": {"value": "ink", "source": "user"}}


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())
