"""The feedback API over ASGI against DynamoDB (moto server, tables made from template.yaml):
submissions on one's own replies, ownership, validation, Powertools idempotency, the org's
feedback list and its analytics, and the Mangum handler with a function-URL event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from parley.apps.feedback import create_feedback_app, feedback_parts
from parley.auth import Identity
from parley.feedback.repository import FeedbackRepository
from parley.feedback.schemas import FeedbackRequest
from parley.http import create_app
from parley.ids import new_id
from parley.state.conversations import ConversationRepository
from parley.state.items import from_item
from tests.support.asgi import bearer, client_for
from tests.support.clients import ClientProxy
from tests.support.lambdas import Handler, LambdaContext, function_handler, recorded_event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

pytestmark = pytest.mark.anyio

ORG = "acme"
ALICE = Identity(user_id="alice", org_id=ORG)
BOB = Identity(user_id="bob", org_id=ORG)
ALICE_TOKEN = bearer("alice", org_id=ORG)
BOB_TOKEN = bearer("bob", org_id=ORG)
ALICE_ELSEWHERE_TOKEN = bearer("alice", org_id="other-org")
ANALYST = bearer("carol", org_id=ORG, scopes="analytics:view")
OUTSIDE_ANALYST = bearer("mallory", org_id="other-org", scopes="analytics:view")


class Chat:
    """Conversations stored as the chat pipeline stores them: the user's message with its
    panel and choices, then the assistant's reply with the model that gave it."""

    def __init__(self, settings: Settings, dynamodb: DynamoDBClient) -> None:
        self.repo = ConversationRepository(settings.conversations_table, client=dynamodb)

    def exchange(
        self, owner: Identity, prompt: str = "Draw a lighthouse", reply: str = "Here it is."
    ) -> tuple[str, str]:
        conversation_id = new_id()
        self.repo.add_message(
            owner,
            conversation_id,
            role="user",
            content=prompt,
            metadata={"panel": "pictures", "choices": {"defaultStyle": "watercolor"}},
            new_conversation_title=prompt,
        )
        answer = self.repo.add_message(
            owner,
            conversation_id,
            role="assistant",
            content=reply,
            metadata={"provider": "openai", "model": "gpt-4o-mini", "cost_usd": 0.001},
        )
        return conversation_id, answer.id


@pytest.fixture
def chat(settings: Settings, dynamodb: DynamoDBClient) -> Chat:
    return Chat(settings, dynamodb)


@pytest.fixture
async def http(settings: Settings, dynamodb: DynamoDBClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_feedback_app(settings, client=dynamodb)) as client:
        yield client


def stored_feedback(settings: Settings, dynamodb: DynamoDBClient) -> list[dict[str, Any]]:
    """Every feedback record, read around the API (a Scan: tests may, request paths never)."""
    items = dynamodb.scan(TableName=settings.feedback_table, ConsistentRead=True)["Items"]
    return [from_item(dict(item)) for item in items if item["type"]["S"] == "feedback"]


def reply_item(
    settings: Settings, dynamodb: DynamoDBClient, conversation_id: str, message_id: str
) -> dict[str, Any]:
    item = dynamodb.get_item(
        TableName=settings.conversations_table,
        Key={"pk": {"S": f"CONV#{conversation_id}"}, "sk": {"S": f"MSG#{message_id}"}},
        ConsistentRead=True,
    )["Item"]
    return from_item(dict(item))


# Submitting -------------------------------------------------------------------------------


async def test_feedback_on_own_reply_is_stored_and_marks_the_reply(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    conversation_id, message_id = chat.exchange(ALICE, "Draw a lighthouse", "A watercolor.")
    response = await http.post(
        "/v1/feedback",
        headers=ALICE_TOKEN,
        json={
            "message_id": message_id,
            "thumbs": 1,
            "rating": 5,
            "reasons": ["accurate", "on_brand"],
            "comment": "Lovely",
            "signals": {"continued": True, "action_completed": True},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["feedback_id"]) == 26
    assert body["satisfaction"] == 1.0
    assert body["conversation_id"] == conversation_id
    assert body["message_id"] == message_id
    assert body["model"] == "gpt-4o-mini"
    assert body["provider"] == "openai"
    assert body["user_id"] == "alice"
    assert "exchange" not in body
    assert "pk" not in body

    [record] = stored_feedback(settings, dynamodb)
    assert record["feedback_id"] == body["feedback_id"]
    assert record["pk"] == f"ORG#{ORG}#DAY#{record['created_at'][:10]}"
    assert record["sk"] == f"{record['created_at']}#{record['feedback_id']}"
    # Rated 5: in the sparse index, with the exchange the export reads.
    assert record["gsi1pk"] == f"ORG#{ORG}#RATED"
    assert record["exchange"] == {"prompt": "Draw a lighthouse", "reply": "A watercolor."}

    feedback = reply_item(settings, dynamodb, conversation_id, message_id)["feedback"]
    assert feedback == {
        "feedback_id": body["feedback_id"],
        "thumbs": 1,
        "rating": 5,
        "satisfaction": 1.0,
        "at": record["created_at"],
    }
    messages = chat.repo.get_with_messages(ALICE, conversation_id)[1]
    assert messages[1].feedback == feedback


async def test_a_lower_rating_stays_out_of_the_rated_index_and_conversation_id_reads_directly(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    conversation_id, message_id = chat.exchange(ALICE)
    response = await http.post(
        "/v1/feedback",
        headers=ALICE_TOKEN,
        json={"message_id": message_id, "conversation_id": conversation_id, "rating": 4},
    )
    assert response.status_code == 201, response.text
    assert response.json()["satisfaction"] is None
    [record] = stored_feedback(settings, dynamodb)
    assert "gsi1pk" not in record
    assert "exchange" not in record
    summary = reply_item(settings, dynamodb, conversation_id, message_id)["feedback"]
    assert summary["rating"] == 4
    assert "thumbs" not in summary


@pytest.mark.parametrize("token", [BOB_TOKEN, ALICE_ELSEWHERE_TOKEN])
@pytest.mark.parametrize("name_the_conversation", [False, True])
async def test_another_users_reply_is_not_found_and_nothing_is_stored(
    http: httpx.AsyncClient,
    chat: Chat,
    settings: Settings,
    dynamodb: DynamoDBClient,
    token: dict[str, str],
    name_the_conversation: bool,
) -> None:
    conversation_id, message_id = chat.exchange(ALICE)
    body: dict[str, Any] = {"message_id": message_id, "thumbs": -1}
    if name_the_conversation:
        body["conversation_id"] = conversation_id
    response = await http.post("/v1/feedback", headers=token, json=body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert stored_feedback(settings, dynamodb) == []
    assert "feedback" not in reply_item(settings, dynamodb, conversation_id, message_id)


async def test_a_users_own_question_is_not_a_reply(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    conversation_id, _ = chat.exchange(ALICE)
    question = chat.repo.get_with_messages(ALICE, conversation_id)[1][0]
    for body in (
        {"message_id": question.id, "thumbs": 1},
        {"message_id": question.id, "conversation_id": conversation_id, "thumbs": 1},
    ):
        assert (await http.post("/v1/feedback", headers=ALICE_TOKEN, json=body)).status_code == 404
    assert stored_feedback(settings, dynamodb) == []


async def test_without_a_token_it_is_401(http: httpx.AsyncClient, chat: Chat) -> None:
    _, message_id = chat.exchange(ALICE)
    response = await http.post("/v1/feedback", json={"message_id": message_id, "thumbs": 1})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "body",
    [
        {"thumbs": 1},
        {"message_id": "not-an-id", "thumbs": 1},
        {"message_id": "{id}"},
        {"message_id": "{id}", "comment": "   "},
        {"message_id": "{id}", "signals": {}},
        {"message_id": "{id}", "thumbs": 2},
        {"message_id": "{id}", "thumbs": True},
        {"message_id": "{id}", "rating": 6},
        {"message_id": "{id}", "rating": 0},
        {"message_id": "{id}", "rating": "5"},
        {"message_id": "{id}", "rating": 4.5},
        {"message_id": "{id}", "reasons": ["Not A Tag"]},
        {"message_id": "{id}", "reasons": [f"tag{n}" for n in range(11)]},
        {"message_id": "{id}", "comment": "x" * 2001},
        {"message_id": "{id}", "signals": {"continued": "yes"}},
        {"message_id": "{id}", "signals": {"response_seconds": -1}},
        {"message_id": "{id}", "signals": {"response_seconds": 86_401}},
        {"message_id": "{id}", "signals": {"mood": "happy"}},
        {"message_id": "{id}", "thumbs": 1, "user_id": "bob"},
    ],
)
async def test_invalid_bodies_are_422_and_store_nothing(
    http: httpx.AsyncClient,
    chat: Chat,
    settings: Settings,
    dynamodb: DynamoDBClient,
    body: dict[str, Any],
) -> None:
    _, message_id = chat.exchange(ALICE)
    sent = json.loads(json.dumps(body).replace("{id}", message_id))
    response = await http.post("/v1/feedback", headers=ALICE_TOKEN, json=sent)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert stored_feedback(settings, dynamodb) == []


async def test_malformed_json_is_422(
    http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    response = await http.post(
        "/v1/feedback",
        headers={**ALICE_TOKEN, "Content-Type": "application/json"},
        content=b'{"message_id": ',
    )
    assert response.status_code == 422
    assert "Traceback" not in response.text
    assert stored_feedback(settings, dynamodb) == []


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
async def test_a_malformed_idempotency_key_is_422(
    http: httpx.AsyncClient, chat: Chat, key: str
) -> None:
    _, message_id = chat.exchange(ALICE)
    response = await http.post(
        "/v1/feedback",
        headers=[
            (b"Authorization", ALICE_TOKEN["Authorization"].encode()),
            (b"Idempotency-Key", key.encode()),
        ],
        json={"message_id": message_id, "thumbs": 1},
    )
    assert response.status_code == 422


# Idempotency ------------------------------------------------------------------------------


async def test_the_same_key_twice_stores_one_record(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    _, message_id = chat.exchange(ALICE)
    headers = {**ALICE_TOKEN, "Idempotency-Key": "submit-1"}
    first = await http.post(
        "/v1/feedback", headers=headers, json={"message_id": message_id, "thumbs": 1}
    )
    # The same submission, keys in another order: still the same one.
    again = await http.post(
        "/v1/feedback",
        headers={**headers, "Content-Type": "application/json"},
        content=json.dumps({"thumbs": 1, "message_id": message_id}),
    )
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert [r["feedback_id"] for r in stored_feedback(settings, dynamodb)] == [
        first.json()["feedback_id"]
    ]


async def test_the_same_key_with_another_body_is_422(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    _, message_id = chat.exchange(ALICE)
    headers = {**ALICE_TOKEN, "Idempotency-Key": "submit-2"}
    first = await http.post(
        "/v1/feedback", headers=headers, json={"message_id": message_id, "thumbs": 1}
    )
    assert first.status_code == 201
    other = await http.post(
        "/v1/feedback", headers=headers, json={"message_id": message_id, "thumbs": -1}
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(stored_feedback(settings, dynamodb)) == 1


async def test_concurrent_duplicates_store_exactly_one_record(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    _, message_id = chat.exchange(ALICE)
    headers = {**ALICE_TOKEN, "Idempotency-Key": "double-click"}
    responses: list[httpx.Response] = []

    async def send() -> None:
        responses.append(
            await http.post(
                "/v1/feedback", headers=headers, json={"message_id": message_id, "rating": 2}
            )
        )

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(send)

    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "idempotency_in_progress"
            assert response.headers["Retry-After"] == "1"
    ids = {r.json()["feedback_id"] for r in responses if r.status_code == 201}
    records = stored_feedback(settings, dynamodb)
    assert len(records) == 1
    assert ids == {records[0]["feedback_id"]}


async def test_without_a_key_an_identical_resubmission_is_stored_once(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    _, message_id = chat.exchange(ALICE)
    body = {"message_id": message_id, "thumbs": -1, "reasons": ["wrong"]}
    first = await http.post("/v1/feedback", headers=ALICE_TOKEN, json=body)
    again = await http.post("/v1/feedback", headers=ALICE_TOKEN, json=body)
    assert first.json()["feedback_id"] == again.json()["feedback_id"]
    assert len(stored_feedback(settings, dynamodb)) == 1
    # A different submission is new feedback, and the reply shows the latest.
    changed = await http.post(
        "/v1/feedback", headers=ALICE_TOKEN, json={"message_id": message_id, "thumbs": 1}
    )
    assert changed.status_code == 201
    assert changed.json()["feedback_id"] != first.json()["feedback_id"]
    assert len(stored_feedback(settings, dynamodb)) == 2


async def test_keys_are_scoped_to_the_user(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    _, alices = chat.exchange(ALICE)
    _, bobs = chat.exchange(BOB)
    key = {"Idempotency-Key": "same-key"}
    alice = await http.post(
        "/v1/feedback", headers={**ALICE_TOKEN, **key}, json={"message_id": alices, "thumbs": 1}
    )
    bob = await http.post(
        "/v1/feedback", headers={**BOB_TOKEN, **key}, json={"message_id": bobs, "thumbs": 1}
    )
    assert alice.status_code == bob.status_code == 201
    assert bob.json()["user_id"] == "bob"
    assert len(stored_feedback(settings, dynamodb)) == 2


async def test_a_failed_submission_does_not_block_a_corrected_retry(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    _, message_id = chat.exchange(ALICE)
    headers = {**ALICE_TOKEN, "Idempotency-Key": "fix-and-retry"}
    missing = await http.post(
        "/v1/feedback", headers=headers, json={"message_id": new_id(), "thumbs": 1}
    )
    assert missing.status_code == 404
    # Powertools deleted the record when the submission raised: nothing holds the key.
    assert dynamodb.scan(TableName=settings.idempotency_table)["Count"] == 0
    fixed = await http.post(
        "/v1/feedback", headers=headers, json={"message_id": message_id, "thumbs": 1}
    )
    assert fixed.status_code == 201
    assert len(stored_feedback(settings, dynamodb)) == 1


class TransactionsCollide(ClientProxy):
    """A client whose first ``collisions`` transactions are cancelled as DynamoDB cancels one
    that met another transaction on the same item (moto never does)."""

    def __init__(self, client: DynamoDBClient, collisions: int) -> None:
        super().__init__(client)
        self.collisions = collisions

    def transact_write_items(self, **request: Any) -> Any:
        from botocore.exceptions import ClientError

        if self.collisions > 0:
            self.collisions -= 1
            reasons = [{"Code": "None"}, {"Code": "TransactionConflict"}]
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": reasons,
            }
            raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]
        return self._client.transact_write_items(**request)


@pytest.mark.parametrize(("collisions", "status", "records"), [(2, 201, 1), (4, 409, 0)])
async def test_a_submission_colliding_on_the_reply_is_tried_again(
    chat: Chat,
    settings: Settings,
    dynamodb: DynamoDBClient,
    collisions: int,
    status: int,
    records: int,
) -> None:
    conversation_id, message_id = chat.exchange(ALICE)
    colliding = TransactionsCollide(dynamodb, collisions)
    app = create_feedback_app(settings, client=colliding)  # type: ignore[arg-type]
    body = {"message_id": message_id, "conversation_id": conversation_id, "thumbs": 1}
    async with client_for(app) as client:
        response = await client.post("/v1/feedback", headers=ALICE_TOKEN, json=body)
    assert response.status_code == status, response.text
    assert len(stored_feedback(settings, dynamodb)) == records


# Reading the org's feedback ---------------------------------------------------------------


def at(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").astimezone(UTC).timestamp()


def seed(
    settings: Settings,
    dynamodb: DynamoDBClient,
    chat: Chat,
    submissions: list[tuple[str, Identity, dict[str, Any]]],
) -> None:
    """Feedback given on the days named, through the repository with its clock set."""
    for day, owner, fields in submissions:
        _, message_id = chat.exchange(owner)
        repository = FeedbackRepository(
            settings.feedback_table,
            settings.conversations_table,
            client=dynamodb,
            clock=lambda day=day: at(day),
        )
        repository.submit(owner, FeedbackRequest(message_id=message_id, **fields))


FIXTURES: list[tuple[str, Identity, dict[str, Any]]] = [
    # satisfaction (0.4 + 0.2) / 0.6 = 1.0
    (
        "2026-11-23",
        ALICE,
        {"thumbs": 1, "rating": 5, "signals": {"continued": True, "action_completed": True}},
    ),
    # satisfaction 0.0
    ("2026-11-23", BOB, {"thumbs": -1, "signals": {"asked_for_human": True}}),
    # continued false (0.2 x 0) and 165 s (0.1 x 0.5): 0.05 / 0.3 = 0.1667
    ("2026-11-24", ALICE, {"rating": 3, "signals": {"continued": False, "response_seconds": 165}}),
    ("2026-11-30", BOB, {"thumbs": 1, "comment": "ok"}),
]


async def test_the_org_feedback_list_needs_analytics_view(http: httpx.AsyncClient) -> None:
    for path in ("/v1/feedback", "/v1/feedback/analytics"):
        refused = await http.get(path, headers=ALICE_TOKEN)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        assert (await http.get(path)).status_code == 401


async def test_the_list_is_newest_first_paged_and_filtered(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    seed(settings, dynamodb, chat, FIXTURES)
    window = {"from": "2026-11-23", "to": "2026-11-30"}
    everything = await http.get("/v1/feedback", headers=ANALYST, params=window)
    assert everything.status_code == 200, everything.text
    listed = everything.json()["items"]
    assert [item["created_at"][:10] for item in listed] == [
        "2026-11-30",
        "2026-11-24",
        "2026-11-23",
        "2026-11-23",
    ]
    assert everything.json()["next_cursor"] is None

    pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(5):
        params = {**window, "limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/v1/feedback", headers=ANALYST, params=params)).json()
        pages.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [item["feedback_id"] for item in pages] == [item["feedback_id"] for item in listed]

    ups = await http.get("/v1/feedback", headers=ANALYST, params={**window, "thumbs": "1"})
    assert {item["thumbs"] for item in ups.json()["items"]} == {1}
    assert len(ups.json()["items"]) == 2
    rated = await http.get("/v1/feedback", headers=ANALYST, params={**window, "min_rating": "4"})
    assert [item["rating"] for item in rated.json()["items"]] == [5]

    outside = await http.get("/v1/feedback", headers=OUTSIDE_ANALYST, params=window)
    assert outside.json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-11-30", "to": "2026-11-01"},
        {"from": "2026-01-01", "to": "2026-12-01"},
        {"from": "yesterday"},
        {"thumbs": "0"},
        {"limit": "0"},
        {"cursor": "not-a-cursor"},
    ],
)
async def test_bad_list_parameters_are_client_errors(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await http.get("/v1/feedback", headers=ANALYST, params=params)
    assert response.status_code in (400, 422), response.text
    assert "error" in response.json()


async def test_a_cursor_of_another_org_is_refused(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    seed(settings, dynamodb, chat, FIXTURES)
    window = {"from": "2026-11-23", "to": "2026-11-30", "limit": "1"}
    cursor = (await http.get("/v1/feedback", headers=ANALYST, params=window)).json()["next_cursor"]
    assert cursor
    stolen = await http.get(
        "/v1/feedback", headers=OUTSIDE_ANALYST, params={**window, "cursor": cursor}
    )
    assert stolen.status_code == 400


async def test_analytics_compute_the_documented_rates(
    http: httpx.AsyncClient, chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    seed(settings, dynamodb, chat, FIXTURES)
    weekly = await http.get(
        "/v1/feedback/analytics",
        headers=ANALYST,
        params={"from": "2026-11-23", "to": "2026-11-30", "period": "week"},
    )
    assert weekly.status_code == 200, weekly.text
    body = weekly.json()
    assert body["overall"] == {
        "count": 4,
        "helpful_rate": 0.6667,
        "average_rating": 4.0,
        "implicit_satisfaction": 0.3889,
        "continuation_rate": 0.5,
        "action_completion_rate": 1.0,
        "handoff_rate": 1.0,
    }
    # Every reply of the fixtures is gpt-4o-mini's (Chat.exchange); one record has a comment.
    assert body["byModel"] == [
        {
            "model": "gpt-4o-mini",
            "provider": "openai",
            "count": 4,
            "helpful_rate": 0.6667,
            "average_rating": 4.0,
            "implicit_satisfaction": 0.3889,
        }
    ]
    assert body["comments"] == 1
    assert body["periods"] == [
        {
            "period_start": "2026-11-23",
            "count": 3,
            "helpful_rate": 0.5,
            "average_rating": 4.0,
            "implicit_satisfaction": 0.3889,
            "continuation_rate": 0.5,
            "action_completion_rate": 1.0,
            "handoff_rate": 1.0,
        },
        {
            "period_start": "2026-11-30",
            "count": 1,
            "helpful_rate": 1.0,
            "average_rating": None,
            "implicit_satisfaction": None,
            "continuation_rate": None,
            "action_completion_rate": None,
            "handoff_rate": None,
        },
    ]

    daily = (
        await http.get(
            "/v1/feedback/analytics",
            headers=ANALYST,
            params={"from": "2026-11-23", "to": "2026-11-30"},
        )
    ).json()
    assert [p["period_start"] for p in daily["periods"]][:3] == [
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
    ]
    assert len(daily["periods"]) == 8
    assert daily["periods"][1]["implicit_satisfaction"] == 0.1667
    assert daily["periods"][2]["count"] == 0
    assert daily["periods"][2]["helpful_rate"] is None

    monthly = (
        await http.get(
            "/v1/feedback/analytics",
            headers=ANALYST,
            params={"from": "2026-11-23", "to": "2026-12-01", "period": "month"},
        )
    ).json()
    assert [(p["period_start"], p["count"]) for p in monthly["periods"]] == [
        ("2026-11-01", 4),
        ("2026-12-01", 0),
    ]

    outside = (
        await http.get(
            "/v1/feedback/analytics",
            headers=OUTSIDE_ANALYST,
            params={"from": "2026-11-23", "to": "2026-11-30"},
        )
    ).json()
    assert outside["overall"]["count"] == 0
    assert outside["overall"]["helpful_rate"] is None


async def test_the_routers_work_on_another_app_with_installed_state(
    settings: Settings, dynamodb: DynamoDBClient, chat: Chat
) -> None:
    """What ``parley dev`` does: the feedback parts beside other routes on one app."""
    parts = feedback_parts(settings, dynamodb)
    app = create_app(routers=parts.routers, collaborators=parts.collaborators, settings=settings)
    _, message_id = chat.exchange(ALICE)
    async with client_for(app) as client:
        response = await client.post(
            "/v1/feedback", headers=ALICE_TOKEN, json={"message_id": message_id, "thumbs": 1}
        )
    assert response.status_code == 201


# The Lambda handler -----------------------------------------------------------------------


@pytest.fixture
def handler(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handler]:
    """functions/feedback/app.py's handler, imported as Lambda does, with this test's tables."""
    yield from function_handler("feedback", "app", "handler", settings, monkeypatch)


def test_the_mangum_handler_takes_a_function_url_event(
    handler: Handler,
    chat: Chat,
    settings: Settings,
    dynamodb: DynamoDBClient,
) -> None:
    _, message_id = chat.exchange(ALICE, "Draw a lighthouse", "A watercolor.")
    token = ALICE_TOKEN["Authorization"].removeprefix("Bearer ")
    event = recorded_event("feedback_function_url", token=token, message_id=message_id)

    before = datetime.now(tz=UTC).timestamp()
    first = handler(event, LambdaContext(function_name="parley-feedback", remaining_ms=120_000))
    assert first["statusCode"] == 201, first
    body = json.loads(first["body"])
    assert body["message_id"] == message_id
    assert body["satisfaction"] == 1.0  # continued and a prompt reaction: 0.3 / 0.3

    # Powertools took its in-progress deadline from the Lambda context (120 s), not the
    # local stand-in (30 s).
    [record] = dynamodb.scan(TableName=settings.idempotency_table)["Items"]
    deadline = int(record["in_progress_expiration"]["N"]) / 1000
    assert before + 110 < deadline < before + 130
    assert record["status"]["S"] == "COMPLETED"

    retried = handler(event, LambdaContext(function_name="parley-feedback", remaining_ms=120_000))
    assert retried["statusCode"] == 201
    assert json.loads(retried["body"])["feedback_id"] == body["feedback_id"]
    assert retried["headers"]["idempotent-replayed"] == "true"
    assert len(stored_feedback(settings, dynamodb)) == 1
