"""The preferences API over ASGI against DynamoDB (moto server, tables from template.yaml):
the clients' shape, merging, ETags, validation, isolation between users, org panels and
learned values."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from parley.apps.preferences import create_preferences_app
from parley.orgs.repository import OrgSettingsRepository
from parley.panels import BUILTIN_DEFAULTS
from parley.preferences.repository import LearnedValue, PreferencesRepository
from tests.support.asgi import bearer, client_for
from tests.support.clients import ItemReadsMeet

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

pytestmark = pytest.mark.anyio

ORG = "acme"
ALICE = bearer("alice", org_id=ORG)
BOB = bearer("bob", org_id=ORG)
ALICE_ELSEWHERE = bearer("alice", org_id="other-org")
MANAGER = bearer("alice", org_id=ORG, scopes="users:manage")
PATH = "/v1/preferences"
# The document the clients send today, field for field.
CLIENT_DOCUMENT: dict[str, Any] = {
    "preferences": {
        "content": {
            "defaultTone": "Friendly",
            "defaultPersona": "Marketer",
            "defaultPlatforms": ["LinkedIn"],
        },
        "pictures": {"defaultStyle": "watercolor", "defaultProvider": "dalle"},
        "video": {"defaultDuration": 15, "defaultProvider": "pika"},
    },
    "favorite_panels": ["pictures", "content"],
}


def make_app(settings: Settings, client: Any) -> FastAPI:
    # No org settings cache lifetime: a test sees an org's new panels at once.
    return create_preferences_app(settings, client=client, org_cache_seconds=0)


@pytest.fixture
async def http(settings: Settings, dynamodb: DynamoDBClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app(settings, dynamodb)) as client:
        yield client


@pytest.fixture
def repo(settings: Settings, dynamodb: DynamoDBClient) -> PreferencesRepository:
    return PreferencesRepository(settings.accounts_table, client=dynamodb)


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_a_new_user_gets_the_defaults_at_version_0(http: httpx.AsyncClient) -> None:
    response = await http.get(PATH, headers=ALICE)
    assert response.status_code == 200
    assert response.headers["etag"] == '"0"'
    body = response.json()
    assert body["preferences"] == BUILTIN_DEFAULTS
    assert body["tier"] == "demo"
    assert body["favorite_panels"] == []
    assert body["learned"] == {}
    assert body["version"] == 0
    assert set(body["sources"].values()) == {"default"}


async def test_get_describes_each_panels_fields_and_their_options(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get(PATH, headers=ALICE)).json()
    assert set(body["panels"]) == {"content", "pictures", "video"}
    content = body["panels"]["content"]["fields"]
    assert content["defaultTone"]["type"] == "string"
    assert {"Professional", "Friendly"} <= set(content["defaultTone"]["options"])
    assert content["defaultPlatforms"]["type"] == "string_list"
    assert content["defaultPlatforms"]["max_length"] == 20
    assert {"Facebook", "Instagram", "LinkedIn"} <= set(content["defaultPlatforms"]["options"])
    assert {"flux", "dalle"} <= set(
        body["panels"]["pictures"]["fields"]["defaultProvider"]["options"]
    )
    assert body["panels"]["video"]["fields"]["defaultDuration"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 600,
    }
    # Every value the document shows is one of its field's options.
    for panel, values in body["preferences"].items():
        for name, value in values.items():
            options = body["panels"][panel]["fields"][name].get("options")
            for item in value if isinstance(value, list) else [value]:
                assert options is None or item in options, (panel, name, item)


async def test_put_then_get_round_trips_the_clients_shape(http: httpx.AsyncClient) -> None:
    put = await http.put(PATH, headers=ALICE, json=CLIENT_DOCUMENT)
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == '"1"'
    got = await http.get(PATH, headers=ALICE)
    body = got.json()
    assert got.headers["etag"] == '"1"'
    assert body["preferences"] == CLIENT_DOCUMENT["preferences"]
    assert body["favorite_panels"] == ["pictures", "content"]
    assert body["tier"] == "demo"
    assert body["version"] == 1
    assert body["sources"]["video.defaultDuration"] == "user"
    assert put.json() == body


async def test_put_merges_deeply_and_null_removes(http: httpx.AsyncClient) -> None:
    await http.put(PATH, headers=ALICE, json=CLIENT_DOCUMENT)
    merged = await http.put(
        PATH, headers=ALICE, json={"preferences": {"pictures": {"defaultStyle": "ink"}}}
    )
    pictures = merged.json()["preferences"]["pictures"]
    assert pictures == {"defaultStyle": "ink", "defaultProvider": "dalle"}
    assert merged.json()["preferences"]["video"] == CLIENT_DOCUMENT["preferences"]["video"]

    removed = await http.put(
        PATH,
        headers=ALICE,
        json={"preferences": {"pictures": {"defaultProvider": None}, "video": None}},
    )
    body = removed.json()
    assert body["preferences"]["pictures"]["defaultProvider"] == "flux"  # back to the default
    assert body["sources"]["pictures.defaultProvider"] == "default"
    assert body["preferences"]["video"] == BUILTIN_DEFAULTS["video"]
    assert body["preferences"]["content"] == CLIENT_DOCUMENT["preferences"]["content"]
    assert body["version"] == 3


async def test_a_stale_if_match_is_412_and_writes_nothing(http: httpx.AsyncClient) -> None:
    first = await http.put(PATH, headers={**ALICE, "If-Match": '"0"'}, json=CLIENT_DOCUMENT)
    assert first.status_code == 200
    stale = await http.put(
        PATH,
        headers={**ALICE, "If-Match": '"0"'},
        json={"preferences": {"pictures": {"defaultStyle": "ink"}}},
    )
    assert assert_error(stale, 412)["code"] == "precondition_failed"
    for tag in ('W/"1"', "1", '"x"'):
        refused = await http.put(PATH, headers={**ALICE, "If-Match": tag}, json={})
        assert refused.status_code == 412, tag
    current = await http.put(
        PATH,
        headers={**ALICE, "If-Match": first.headers["etag"]},
        json={"preferences": {"pictures": {"defaultStyle": "ink"}}},
    )
    assert current.status_code == 200
    body = (await http.get(PATH, headers=ALICE)).json()
    assert body["preferences"]["pictures"]["defaultStyle"] == "ink"
    assert body["version"] == 2


async def test_two_concurrent_puts_with_the_same_if_match_one_wins(
    settings: Settings, dynamodb: DynamoDBClient, repo: PreferencesRepository
) -> None:
    app = make_app(settings, ItemReadsMeet(dynamodb, 2, sk="PREFERENCES"))
    statuses: dict[str, int] = {}
    async with client_for(app) as http:

        async def put(style: str) -> None:
            response = await http.put(
                PATH,
                headers={**ALICE, "If-Match": '"0"'},
                json={"preferences": {"pictures": {"defaultStyle": style}}},
            )
            statuses[style] = response.status_code

        async with anyio.create_task_group() as group:
            group.start_soon(put, "ink")
            group.start_soon(put, "oil")

    assert sorted(statuses.values()) == [200, 412]
    winner = next(style for style, status in statuses.items() if status == 200)
    stored = repo.get(ORG, "alice")
    assert stored.version == 1
    assert stored.explicit == {"preferences": {"pictures": {"defaultStyle": winner}}}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"preferences": {"audio": {"volume": 3}}}, ["preferences", "audio"]),
        (
            {"preferences": {"video": {"defaultDuration": "long"}}},
            ["preferences", "video", "defaultDuration"],
        ),
        (
            {"preferences": {"pictures": {"defaultStyle": "x" * 101}}},
            ["preferences", "pictures", "defaultStyle"],
        ),
        ({"preferences": {"pictures": {"colour": "red"}}}, ["preferences", "pictures", "colour"]),
        ({"favorite_panels": ["audio"]}, ["favorite_panels", 0]),
        ({"theme": "dark"}, ["theme"]),
    ],
)
async def test_invalid_bodies_are_422_with_the_path_and_save_nothing(
    http: httpx.AsyncClient, repo: PreferencesRepository, body: dict[str, Any], loc: list[Any]
) -> None:
    error = assert_error(await http.put(PATH, headers=ALICE, json=body), 422)
    assert error["code"] == "invalid_request"
    assert loc in [detail["loc"] for detail in error["details"]]
    assert repo.get(ORG, "alice").version == 0


async def test_a_value_a_field_does_not_take_is_422_with_the_allowed_values(
    http: httpx.AsyncClient, repo: PreferencesRepository
) -> None:
    body = {"preferences": {"pictures": {"defaultStyle": "cubist", "defaultProvider": "dalle"}}}
    error = assert_error(await http.put(PATH, headers=ALICE, json=body), 422)
    [detail] = error["details"]
    assert detail["loc"] == ["preferences", "pictures", "defaultStyle"]
    assert "anime" in detail["allowed"]
    assert "cubist" not in detail["allowed"]
    assert repo.get(ORG, "alice").version == 0


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '"text"', ""])
async def test_a_body_that_is_not_a_json_object_is_422(
    http: httpx.AsyncClient, content: str
) -> None:
    response = await http.put(
        PATH, headers={**ALICE, "Content-Type": "application/json"}, content=content
    )
    assert_error(response, 422)


async def test_changing_the_tier_needs_users_manage(http: httpx.AsyncClient) -> None:
    refused = await http.put(PATH, headers=ALICE, json={"tier": "pro"})
    assert assert_error(refused, 403)["code"] == "forbidden"
    # Restating the current tier changes nothing, so needs no scope.
    assert (await http.put(PATH, headers=ALICE, json={"tier": "demo"})).status_code == 200
    granted = await http.put(PATH, headers=MANAGER, json={"tier": "pro"})
    assert granted.status_code == 200
    assert granted.json()["tier"] == "pro"
    lowered = await http.put(PATH, headers=ALICE, json={"tier": None})
    assert lowered.status_code == 403  # back to demo is a change too


async def test_no_token_is_401(http: httpx.AsyncClient) -> None:
    assert_error(await http.get(PATH), 401)
    assert_error(await http.put(PATH, json={}), 401)
    assert_error(await http.post(f"{PATH}/reset"), 401)


async def test_other_users_never_see_alices_preferences(http: httpx.AsyncClient) -> None:
    await http.put(PATH, headers=ALICE, json=CLIENT_DOCUMENT)
    for other in (BOB, ALICE_ELSEWHERE):
        body = (await http.get(PATH, headers=other)).json()
        assert body["preferences"] == BUILTIN_DEFAULTS
        assert body["version"] == 0
    # Bob's write lands in his own item; Alice's is untouched.
    await http.put(PATH, headers=BOB, json={"preferences": {"pictures": {"defaultStyle": "oil"}}})
    alice = (await http.get(PATH, headers=ALICE)).json()
    assert alice["preferences"]["pictures"]["defaultStyle"] == "watercolor"
    assert alice["version"] == 1


async def test_reset_clears_everything_or_some_panels(
    http: httpx.AsyncClient, repo: PreferencesRepository
) -> None:
    # Learned first: learning never writes a field the user set, and this document sets all.
    assert repo.learn(
        ORG,
        "alice",
        {"pictures.defaultStyle": LearnedValue("oil", 0.8, 5, "2026-12-01T00:00:00.000Z")},
        run_id="run-1",
    )
    await http.put(PATH, headers=ALICE, json=CLIENT_DOCUMENT)
    some = await http.post(
        f"{PATH}/reset", headers={**ALICE, "If-Match": '"2"'}, json={"panels": ["pictures"]}
    )
    assert some.status_code == 200, some.text
    body = some.json()
    assert body["preferences"]["pictures"] == BUILTIN_DEFAULTS["pictures"]  # nor the learned
    assert body["learned"] == {}
    assert body["preferences"]["video"] == CLIENT_DOCUMENT["preferences"]["video"]
    assert body["favorite_panels"] == ["pictures", "content"]
    assert some.headers["etag"] == '"3"'

    stale = await http.post(f"{PATH}/reset", headers={**ALICE, "If-Match": '"2"'})
    assert_error(stale, 412)
    unknown = await http.post(f"{PATH}/reset", headers=ALICE, json={"panels": ["audio"]})
    assert assert_error(unknown, 422)["details"][0]["loc"] == ["body", "panels", 0]

    everything = await http.post(f"{PATH}/reset", headers=ALICE)
    body = everything.json()
    assert body["preferences"] == BUILTIN_DEFAULTS
    assert body["learned"] == {}
    assert body["favorite_panels"] == []
    assert body["version"] == 4  # the item is kept: an old ETag never matches again


async def test_an_org_panel_is_accepted_once_the_org_adds_it(
    http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    brand = {"preferences": {"brand": {"voice": "bold"}}}
    before = await http.put(PATH, headers=ALICE, json=brand)
    assert assert_error(before, 422)["details"][0]["loc"] == ["preferences", "brand"]

    OrgSettingsRepository(settings.accounts_table, client=dynamodb).update(
        ORG,
        {
            "preferences": {
                "panels": {
                    "brand": {
                        "fields": {"voice": {"type": "string", "enum": ["bold", "calm"]}},
                        "keywords": ["brand voice"],
                    }
                },
                "defaults": {"brand": {"voice": "calm"}},
            }
        },
        expected_version=None,
        updated_by="admin",
    )
    default = (await http.get(PATH, headers=ALICE)).json()
    assert default["preferences"]["brand"] == {"voice": "calm"}
    assert default["sources"]["brand.voice"] == "org"
    assert default["panels"]["brand"] == {
        "fields": {"voice": {"type": "string", "options": ["bold", "calm"]}}
    }
    after = await http.put(PATH, headers=ALICE, json=brand)
    assert after.status_code == 200, after.text
    assert after.json()["preferences"]["brand"] == {"voice": "bold"}
    invalid = await http.put(PATH, headers=ALICE, json={"preferences": {"brand": {"voice": "x"}}})
    assert_error(invalid, 422)
    # Another org has no such panel.
    elsewhere = await http.put(PATH, headers=ALICE_ELSEWHERE, json=brand)
    assert_error(elsewhere, 422)


async def test_learned_values_show_their_confidence_and_an_explicit_value_wins(
    http: httpx.AsyncClient, repo: PreferencesRepository
) -> None:
    await http.put(PATH, headers=ALICE, json={"preferences": {"pictures": {"defaultStyle": "ink"}}})
    at = "2026-12-01T10:00:00.000Z"
    changed = repo.learn(
        ORG,
        "alice",
        {
            "pictures.defaultStyle": LearnedValue("watercolor", 0.9, 12, at),
            "pictures.defaultProvider": LearnedValue("dalle", 0.82, 8, at),
        },
        run_id="run-7",
    )
    assert changed is True
    assert repo.learn(ORG, "alice", {}, run_id="run-7") is False  # the same run again
    body = (await http.get(PATH, headers=ALICE)).json()
    assert body["preferences"]["pictures"] == {"defaultStyle": "ink", "defaultProvider": "dalle"}
    assert body["learned"] == {"pictures.defaultProvider": 0.82}
    assert body["sources"]["pictures.defaultStyle"] == "user"
    assert repo.get(ORG, "alice").explicit == {"preferences": {"pictures": {"defaultStyle": "ink"}}}
    assert "pictures.defaultStyle" not in repo.get(ORG, "alice").learned

    # Removing the explicit value lets a later learned one show.
    await http.put(PATH, headers=ALICE, json={"preferences": {"pictures": {"defaultStyle": None}}})
    repo.learn(
        ORG,
        "alice",
        {"pictures.defaultStyle": LearnedValue("watercolor", 0.9, 12, at)},
        run_id="run-8",
    )
    body = (await http.get(PATH, headers=ALICE)).json()
    assert body["preferences"]["pictures"]["defaultStyle"] == "watercolor"
    assert body["learned"]["pictures.defaultStyle"] == 0.9


async def test_the_item_is_the_documented_one(
    http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    await http.put(PATH, headers=ALICE, json={"favorite_panels": ["video"]})
    item = dynamodb.get_item(
        TableName=settings.accounts_table,
        Key={"pk": {"S": "USER#acme#alice"}, "sk": {"S": "PREFERENCES"}},
        ConsistentRead=True,
    )["Item"]
    assert json.loads(item["explicit"]["S"]) == {"favorite_panels": ["video"]}
    assert item["version"] == {"N": "1"}
    assert item["user_id"] == {"S": "alice"}


AT = "2026-12-01T10:00:00.000Z"


async def test_a_learned_value_shows_its_details_and_explain_gives_its_support(
    http: httpx.AsyncClient, repo: PreferencesRepository
) -> None:
    repo.learn(
        ORG,
        "alice",
        {
            "pictures.defaultStyle": LearnedValue(
                "anime",
                0.87,
                14,
                AT,
                messages=14,
                support={"watercolor": 2.5, "anime": 9.25, "ink": -1.0},
            ),
            "content.defaultPlatforms": LearnedValue(
                ["Instagram", "LinkedIn"],
                0.7,
                9,
                AT,
                messages=9,
                support={'["Instagram","LinkedIn"]': 6.0, '["X"]': 2.0, '["Nope"]': 1.0},
            ),
            "video.defaultDuration": LearnedValue(
                15, 0.66, 6, AT, messages=6, support={"15": 4.0, "30": 1.5}
            ),
        },
        run_id="run-1",
    )
    plain = await http.get(PATH, headers=ALICE)
    body = plain.json()
    assert body["learned"] == {
        "pictures.defaultStyle": 0.87,
        "content.defaultPlatforms": 0.7,
        "video.defaultDuration": 0.66,
    }
    assert body["learned_details"]["pictures.defaultStyle"] == {
        "value": "anime",
        "confidence": 0.87,
        "messages": 14,
        "learned_at": AT,
    }
    assert set(body["learned_details"]) == set(body["learned"])
    assert body["sources"]["pictures.defaultStyle"] == "learned"  # the sources stay strings
    assert "explanations" not in body

    explained = await http.get(PATH, headers=ALICE, params={"explain": "true"})
    assert explained.status_code == 200, explained.text
    assert explained.headers["etag"] == plain.headers["etag"]
    document = explained.json()
    explanations = document.pop("explanations")
    assert document == body  # explain only adds
    assert explanations["pictures.defaultStyle"] == {
        "value": "anime",
        "confidence": 0.87,
        "messages": 14,
        "support": [
            {"value": "anime", "weight": 9.25},
            {"value": "watercolor", "weight": 2.5},
            {"value": "ink", "weight": -1.0},
        ],
    }
    # The field's own values: a list, a number; an option the field does not take is left out.
    assert explanations["content.defaultPlatforms"]["support"] == [
        {"value": ["Instagram", "LinkedIn"], "weight": 6.0},
        {"value": ["X"], "weight": 2.0},
    ]
    assert explanations["video.defaultDuration"]["support"] == [
        {"value": 15, "weight": 4.0},
        {"value": 30, "weight": 1.5},
    ]
    off = await http.get(PATH, headers=ALICE, params={"explain": "false"})
    assert off.json() == body


async def test_an_explicit_value_is_not_explained_and_a_bad_explain_is_422(
    http: httpx.AsyncClient, repo: PreferencesRepository
) -> None:
    await http.put(PATH, headers=ALICE, json={"preferences": {"pictures": {"defaultStyle": "ink"}}})
    repo.learn(
        ORG,
        "alice",
        {"pictures.defaultStyle": LearnedValue("anime", 0.9, 12, AT, 12, {"anime": 8.0})},
        run_id="run-1",
    )
    body = (await http.get(PATH, headers=ALICE, params={"explain": "1"})).json()
    assert body["learned_details"] == {}
    assert body["explanations"] == {}
    error = assert_error(await http.get(PATH, headers=ALICE, params={"explain": "maybe"}), 422)
    assert error["code"] == "invalid_request"


async def test_a_value_learned_before_messages_and_support_reads_and_explains_with_nulls(
    http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    await http.put(PATH, headers=ALICE, json={"favorite_panels": ["pictures"]})
    # The item as the job wrote it before issue 14: no messages, no support, no learned_at.
    old = {"pictures.defaultProvider": {"value": "dalle", "confidence": 0.75, "samples": 6.5}}
    dynamodb.update_item(
        TableName=settings.accounts_table,
        Key={"pk": {"S": "USER#acme#alice"}, "sk": {"S": "PREFERENCES"}},
        UpdateExpression="SET learned = :learned",
        ExpressionAttributeValues={":learned": {"S": json.dumps(old)}},
    )
    plain = await http.get(PATH, headers=ALICE)
    assert plain.status_code == 200, plain.text
    assert plain.json()["learned_details"] == {
        "pictures.defaultProvider": {
            "value": "dalle",
            "confidence": 0.75,
            "messages": None,
            "learned_at": None,
        }
    }
    explained = await http.get(PATH, headers=ALICE, params={"explain": "true"})
    assert explained.status_code == 200, explained.text
    assert explained.json()["explanations"] == {
        "pictures.defaultProvider": {
            "value": "dalle",
            "confidence": 0.75,
            "messages": None,
            "support": None,
        }
    }
