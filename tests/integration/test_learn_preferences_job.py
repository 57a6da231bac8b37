"""The hourly learning job against DynamoDB (moto server, tables made from template.yaml):
conversations written as the chat pipeline writes them, the job run directly, through its
idempotent runner, as the Lambda handler with a scheduler event, and from the CLI."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from parley.apps.jobs import lambda_handler, run_locally
from parley.auth.identity import Identity
from parley.clock import iso_from_epoch
from parley.ids import new_id
from parley.preferences.job import LearnPreferencesJob
from parley.preferences.repository import LearnedValue, PreferencesRepository
from parley.state.conversation_keys import ACTIVITY_SHARDS, activity_shard
from parley.state.conversations import ConversationRepository
from parley.state.conversations import dynamodb as conversations_module
from parley.state.items import to_item
from tests.support.lambdas import LambdaContext, recorded_event

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

ORG = "acme"
DAY = 86_400
STYLE = "pictures.defaultStyle"


@pytest.fixture
def conversations(settings: Settings, dynamodb: DynamoDBClient) -> ConversationRepository:
    return ConversationRepository(settings.conversations_table, client=dynamodb)


@pytest.fixture
def preferences(settings: Settings, dynamodb: DynamoDBClient) -> PreferencesRepository:
    return PreferencesRepository(settings.accounts_table, client=dynamodb)


@dataclass
class Chat:
    """Writes turns as the chat pipeline does: the user message with the form's panel and
    choices in its metadata, then the assistant reply."""

    repo: ConversationRepository
    dynamodb: DynamoDBClient
    table: str

    def conversation(self, user: str) -> str:
        return self.repo.create(Identity(user_id=user, org_id=ORG)).id

    def turn(
        self,
        user: str,
        conversation_id: str,
        choices: dict[str, Any],
        *,
        panel: str = "pictures",
        feedback: dict[str, Any] | None = None,
        at_ms: int | None = None,
        reply: bool = True,
    ) -> None:
        owner = Identity(user_id=user, org_id=ORG)
        asked = self.repo.add_message(
            owner,
            conversation_id,
            role="user",
            content="make me a picture",
            metadata={"panel": panel, "choices": choices},
            message_id=None if at_ms is None else new_id(at_ms),
        )
        if not reply:
            return
        answer_id = None if at_ms is None else new_id(at_ms + 1)
        answer = self.repo.add_message(
            owner, conversation_id, role="assistant", content="here", message_id=answer_id
        )
        assert asked.id < answer.id
        if feedback is not None:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=to_item({"pk": f"CONV#{conversation_id}", "sk": f"MSG#{answer.id}"}),
                UpdateExpression="SET feedback = :f",
                ExpressionAttributeValues=to_item(
                    {":f": {"feedback_id": new_id(), "at": iso_from_epoch(time.time()), **feedback}}
                ),
            )

    def styles(self, user: str, *styles: str, **options: Any) -> str:
        conversation_id = self.conversation(user)
        for style in styles:
            self.turn(user, conversation_id, {"defaultStyle": style}, **options)
        return conversation_id


@pytest.fixture
def chat(
    conversations: ConversationRepository, settings: Settings, dynamodb: DynamoDBClient
) -> Chat:
    return Chat(conversations, dynamodb, settings.conversations_table)


def make_job(settings: Settings, dynamodb: DynamoDBClient, **options: Any) -> LearnPreferencesJob:
    return LearnPreferencesJob(
        settings.conversations_table, settings.accounts_table, client=dynamodb, **options
    )


def counts(result: dict[str, Any]) -> tuple[int, int, int]:
    return result["processed"], result["updated"], result["skipped"]


@pytest.fixture
def back_in_time(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Makes the conversations written inside the block look last active ``days`` ago."""
    from contextlib import contextmanager

    @contextmanager
    def travel(days: float) -> Iterator[None]:
        past = time.time() - days * DAY
        with monkeypatch.context() as patch:
            patch.setattr(conversations_module, "now_iso", lambda: iso_from_epoch(past))
            yield

    return travel


# Learning ------------------------------------------------------------------------------------


def test_a_user_who_keeps_choosing_one_style_gets_it_learned(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    chat.styles("alice", *["watercolor"] * 5)

    result = make_job(settings, dynamodb).run(run_id="t#1", deadline=None)

    assert counts(result) == (1, 1, 0)
    assert result["complete"] is True
    assert result["cursor"] is None
    assert isinstance(result["duration_ms"], int)
    learned = preferences.get(ORG, "alice").learned[STYLE]
    assert learned.value == "watercolor"
    assert 0.6 < learned.confidence <= 0.8  # five messages: bounded by (n + 1) / (n + 3)
    # Unanimous: no decay predicts them best, so n = 5 (less a minute's age): (5+1)/(5+3), down.
    assert learned.confidence == pytest.approx(0.749)
    assert (learned.samples, learned.messages) == (5, 5)
    assert learned.support == {"watercolor": pytest.approx(5.0, abs=1e-3)}


def test_an_explicitly_set_value_stays(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    preferences.update(
        ORG,
        "alice",
        {"preferences": {"pictures": {"defaultStyle": "oil"}}},
        expected_version=None,
    )
    conversation_id = chat.conversation("alice")
    for _ in range(4):
        chat.turn(
            "alice", conversation_id, {"defaultStyle": "watercolor", "defaultProvider": "dalle"}
        )

    result = make_job(settings, dynamodb).run(run_id="t#1", deadline=None)

    assert counts(result) == (1, 1, 0)
    stored = preferences.get(ORG, "alice")
    assert stored.explicit["preferences"]["pictures"]["defaultStyle"] == "oil"
    assert STYLE not in stored.learned
    assert stored.learned["pictures.defaultProvider"].value == "dalle"


def test_mixed_choices_learn_nothing(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    chat.styles("alice", "watercolor", "oil", "pencil", "watercolor", "oil", "pencil")

    result = make_job(settings, dynamodb).run(run_id="t#1", deadline=None)

    assert counts(result) == (1, 0, 1)
    assert preferences.get(ORG, "alice").version == 0  # nothing written


@pytest.mark.parametrize("liked", [{"thumbs": 1}, {"rating": 5}])
def test_feedback_moves_support_not_evidence(
    liked: dict[str, Any],
    chat: Chat,
    settings: Settings,
    dynamodb: DynamoDBClient,
    preferences: PreferencesRepository,
) -> None:
    # Three users, the same four watercolors after two oils; alice disliked her latest
    # watercolor, bob liked it, carol said nothing.
    for user, feedback in (("alice", {"thumbs": -1}), ("bob", liked), ("carol", None)):
        conversation_id = chat.styles(user, "oil", "oil", "watercolor", "watercolor", "watercolor")
        chat.turn(user, conversation_id, {"defaultStyle": "watercolor"}, feedback=feedback)

    result = make_job(settings, dynamodb).run(run_id="t#1", deadline=None)

    assert counts(result) == (3, 2, 1)
    # The dislike takes alice's newest watercolor out of the evidence and out of its support:
    # 1.6 against oil's 1.5 is a near tie, not learned.
    assert preferences.get(ORG, "alice").learned == {}
    found = {user: preferences.get(ORG, user).learned[STYLE] for user in ("bob", "carol")}
    assert {learned.value for learned in found.values()} == {"watercolor"}
    assert {learned.messages for learned in found.values()} == {6}
    assert found["bob"].support["watercolor"] == pytest.approx(
        found["carol"].support["watercolor"] + 1
    )
    # A like moves the shares of the same evidence; it adds no evidence: with the panel's
    # twelve styles in the prior the shares bind, so bob is surer, both within n = 6's bound.
    assert found["carol"].confidence < found["bob"].confidence <= 7 / 9


def test_a_changed_taste_replaces_the_learned_value(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    conversation_id = chat.styles("alice", *["watercolor"] * 15)
    job = make_job(settings, dynamodb)
    job.run(run_id="t#1", deadline=None)
    assert preferences.get(ORG, "alice").learned[STYLE].value == "watercolor"
    for _ in range(10):
        chat.turn("alice", conversation_id, {"defaultStyle": "anime"})

    assert counts(job.run(run_id="t#2", deadline=None)) == (1, 1, 0)
    learned = preferences.get(ORG, "alice").learned[STYLE]
    assert (learned.value, learned.messages) == ("anime", 25)
    assert set(learned.support) == {"anime", "watercolor"}


def test_a_learned_value_the_evidence_no_longer_supports_is_forgotten(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    conversation_id = chat.conversation("alice")
    for _ in range(4):
        chat.turn(
            "alice", conversation_id, {"defaultStyle": "watercolor", "defaultProvider": "dalle"}
        )
    job = make_job(settings, dynamodb)
    job.run(run_id="t#1", deadline=None)
    assert set(preferences.get(ORG, "alice").learned) == {STYLE, "pictures.defaultProvider"}
    # She rates the style's replies down from now on; the provider is not chosen any more.
    for _ in range(4):
        chat.turn("alice", conversation_id, {"defaultStyle": "watercolor"}, feedback={"thumbs": -1})
    chat.styles("alice", "oil", panel="pictures")  # another conversation, one other style
    # A panel she did not use lately keeps what was learned for it.
    preferences.learn(
        ORG,
        "alice",
        {"video.defaultDuration": LearnedValue(15, 0.7, 5, "2026-12-01T00:00:00.000Z")},
        run_id="seeded",
    )

    assert counts(job.run(run_id="t#2", deadline=None)) == (1, 1, 0)
    stored = preferences.get(ORG, "alice")
    assert STYLE not in stored.learned
    assert set(stored.learned) == {"pictures.defaultProvider", "video.defaultDuration"}
    # The same run again changes nothing.
    assert counts(job.run(run_id="t#2", deadline=None)) == (1, 0, 1)
    assert preferences.get(ORG, "alice").version == stored.version


def test_users_inactive_for_more_than_seven_days_are_not_processed(
    chat: Chat,
    settings: Settings,
    dynamodb: DynamoDBClient,
    preferences: PreferencesRepository,
    back_in_time: Any,
) -> None:
    with back_in_time(8):
        chat.styles("sleeper", *["watercolor"] * 5)
    with back_in_time(6):
        chat.styles("recent", *["oil"] * 5)

    result = make_job(settings, dynamodb).run(run_id="t#1", deadline=None)

    assert counts(result) == (1, 1, 0)
    assert preferences.get(ORG, "sleeper").version == 0
    assert preferences.get(ORG, "recent").learned[STYLE].value == "oil"


def test_messages_older_than_thirty_days_are_ignored(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    now_ms = int(time.time() * 1000)
    conversation_id = chat.conversation("alice")
    for index in range(6):  # 31 days old: would outvote the recent three
        chat.turn(
            "alice",
            conversation_id,
            {"defaultStyle": "oil"},
            at_ms=now_ms - 31 * DAY * 1000 + index * 10,
        )
    for index in range(3):
        chat.turn(
            "alice",
            conversation_id,
            {"defaultStyle": "watercolor"},
            at_ms=now_ms - 29 * DAY * 1000 + index * 10,
        )

    make_job(settings, dynamodb).run(run_id="t#1", deadline=None)

    learned = preferences.get(ORG, "alice").learned[STYLE]
    assert (learned.value, learned.samples, learned.messages) == ("watercolor", 3, 3)


def test_only_the_last_hundred_messages_count(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    # 120 older oil choices outvote 100 newer watercolor ones, were all of them counted. They
    # are in two conversations, the older one active last, so the newest are not simply the
    # first conversation's.
    now_ms = int(time.time() * 1000)
    newer, older = chat.conversation("alice"), chat.conversation("alice")
    for index in range(100):
        chat.turn(
            "alice",
            newer,
            {"defaultStyle": "watercolor"},
            at_ms=now_ms - DAY * 1000 + index,
            reply=False,
        )
    for index in range(120):
        chat.turn(
            "alice",
            older,
            {"defaultStyle": "oil"},
            at_ms=now_ms - 10 * DAY * 1000 + index,
            reply=False,
        )

    result = make_job(settings, dynamodb, page_size=30).run(run_id="t#1", deadline=None)

    assert counts(result) == (1, 1, 0)
    learned = preferences.get(ORG, "alice").learned[STYLE]
    assert (learned.value, learned.samples) == ("watercolor", 100)
    # Ages count from her newest message; 100 unanimous messages of one day pick no decay
    # per message, so the confidence is the ceiling.
    assert learned.confidence == 0.95


# Re-runs, deadlines, cursors ------------------------------------------------------------------


def test_running_twice_for_the_same_hour_returns_the_first_result_without_writing(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    chat.styles("alice", *["watercolor"] * 4)
    chat.styles("bob", *["oil"] * 4)
    hour = datetime.now(UTC).replace(minute=5, second=0, microsecond=0)

    first = run_locally(
        "learn-preferences", settings=settings, scheduled_time=hour, client=dynamodb
    )
    versions = {user: preferences.get(ORG, user).version for user in ("alice", "bob")}
    chat.styles("carol", *["pencil"] * 4)  # new work would show in a second real run
    second = run_locally(
        "learn-preferences", settings=settings, scheduled_time=hour, client=dynamodb
    )

    assert counts(first) == (2, 2, 0)
    assert second == first
    assert {user: preferences.get(ORG, user).version for user in ("alice", "bob")} == versions
    assert preferences.get(ORG, "carol").version == 0


def test_the_same_run_again_writes_nothing_even_without_the_idempotency_record(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    # A run that crashed half-way is run again from the start by its retry.
    chat.styles("alice", *["watercolor"] * 4)
    job = make_job(settings, dynamodb)
    assert counts(job.run(run_id="learn-preferences#h", deadline=None)) == (1, 1, 0)
    version = preferences.get(ORG, "alice").version

    assert counts(job.run(run_id="learn-preferences#h", deadline=None)) == (1, 0, 1)
    assert counts(job.run(run_id="learn-preferences#next-hour", deadline=None)) == (1, 0, 1)
    assert preferences.get(ORG, "alice").version == version


def test_the_deadline_stops_the_run_and_its_cursor_finishes_it(
    chat: Chat,
    settings: Settings,
    dynamodb: DynamoDBClient,
    preferences: PreferencesRepository,
    back_in_time: Any,
) -> None:
    users = [f"user-{index}" for index in range(6)]
    for user in users:
        chat.styles(user, *["watercolor"] * 3)
        chat.styles(user, *["watercolor"] * 3)  # two conversations: adjacent index entries
    with back_in_time(2):
        for user in users[:3]:  # also active two days ago: met on both days
            chat.styles(user, *["watercolor"] * 3)
    # Every call to the timer is one user later; the deadline passes after the second user.
    ticks = itertools.count()
    job = make_job(settings, dynamodb, timer=lambda: next(ticks), page_size=1)
    as_of = time.time()

    processed: list[int] = []
    cursor: str | None = None
    for _ in range(len(users) + 1):
        ticks = itertools.count()
        result = job.run(run_id="t#1", deadline=1, as_of=as_of, cursor=cursor)
        processed.append(result["processed"])
        assert result["updated"] == result["processed"]  # nobody twice: each one is new
        if result["complete"]:
            assert result["cursor"] is None
            break
        assert isinstance(result["cursor"], str)
        cursor = result["cursor"]

    assert processed[0] == 2
    assert sum(processed) == len(users)
    for user in users:
        samples = 9 if user in users[:3] else 6  # every conversation of the last 7 days
        assert preferences.get(ORG, user).learned[STYLE].samples == samples


def test_a_cursor_of_another_run_is_refused(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    from parley.errors import BadRequest

    chat.styles("alice", *["oil"] * 3)
    chat.styles("bob", *["oil"] * 3)
    job = make_job(settings, dynamodb, timer=lambda: 10.0)
    cursor = job.run(run_id="t#1", deadline=0, as_of=time.time())["cursor"]
    assert cursor is not None
    with pytest.raises(BadRequest):
        job.run(run_id="t#1", deadline=None, as_of=time.time() + 8 * DAY, cursor=cursor)
    with pytest.raises(BadRequest):
        job.run(run_id="t#1", deadline=None, cursor="not-a-cursor")


def test_shards_limit_the_run_to_their_users(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    chat.styles("alice", *["oil"] * 3)
    shard = activity_shard(ORG, "alice")
    others = [other for other in range(ACTIVITY_SHARDS) if other != shard]
    job = make_job(settings, dynamodb)
    assert counts(job.run(run_id="t#1", deadline=None, shards=others)) == (0, 0, 0)
    assert counts(job.run(run_id="t#1", deadline=None, shards=[shard])) == (1, 1, 0)


# The Lambda handler and the CLI ----------------------------------------------------------------


def job_context(remaining_ms: int) -> LambdaContext:
    return LambdaContext(function_name="parley-learn-preferences", remaining_ms=remaining_ms)


def scheduler_event() -> dict[str, Any]:
    """The template's schedule input as Scheduler delivers it, fired this hour."""
    event = recorded_event("learn_preferences_schedule")
    event["scheduled_time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:05:00Z")
    return event


def test_the_lambda_handler_runs_a_scheduled_hour_once(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    chat.styles("alice", *["watercolor"] * 3)
    continued: list[dict[str, Any]] = []
    handler = lambda_handler(
        "learn-preferences",
        settings=settings,
        client=dynamodb,
        continuation=lambda _context: continued.append,
    )
    event = scheduler_event()

    result = handler(event, job_context(remaining_ms=600_000))
    again = handler(event, job_context(remaining_ms=600_000))

    assert counts(result) == (1, 1, 0)
    assert result["complete"] is True
    assert again == result
    assert continued == []
    assert preferences.get(ORG, "alice").learned[STYLE].value == "watercolor"


def test_the_lambda_handler_continues_a_run_that_reaches_its_deadline(
    chat: Chat, settings: Settings, dynamodb: DynamoDBClient, preferences: PreferencesRepository
) -> None:
    users = ["alice", "bob", "carol"]
    for user in users:
        chat.styles(user, *["watercolor"] * 3)
    continued: list[dict[str, Any]] = []
    handler = lambda_handler(
        "learn-preferences",
        settings=settings,
        client=dynamodb,
        continuation=lambda _context: continued.append,
    )
    short = LambdaContext(
        function_name="parley-learn-preferences", remaining_ms=1_000
    )  # under the margin: one user per invocation
    event = scheduler_event()

    results = [handler(event, short)]
    while continued:
        following = continued.pop()
        assert following["scheduled_time"] == event["scheduled_time"]
        assert following["cursor"]
        results.append(handler(following, short))

    assert [result["processed"] for result in results] == [1, 1, 1]
    assert results[-1]["complete"] is True
    assert all(preferences.get(ORG, user).learned for user in users)
    # A second delivery of the first event replays its result and starts nothing new.
    assert handler(event, short) == results[0]
    assert continued == []


def test_the_lambda_handler_refuses_another_jobs_event(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    from parley.errors import ValidationFailed

    handler = lambda_handler("learn-preferences", settings=settings, client=dynamodb)
    with pytest.raises(ValidationFailed):
        handler(
            {"job": "aggregate-usage"},
            job_context(remaining_ms=600_000),
        )
    with pytest.raises(ValidationFailed):
        handler(
            {"scheduled_time": "yesterday"},
            job_context(remaining_ms=600_000),
        )


def test_parley_jobs_run_prints_the_result(
    cli: Any, chat: Chat, preferences: PreferencesRepository
) -> None:
    chat.styles("alice", *["watercolor"] * 3)
    hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
    shard = activity_shard(ORG, "alice")

    code, other_shard, _ = cli(
        "jobs",
        "run",
        "learn-preferences",
        "--hour",
        hour,
        "--shard",
        str((shard + 1) % ACTIVITY_SHARDS),
    )
    assert code == 0
    assert counts(other_shard) == (0, 0, 0)

    code, printed, _ = cli("jobs", "run", "learn-preferences", "--hour", hour)
    assert code == 0
    assert counts(printed) == (1, 1, 0)
    assert printed["complete"] is True
    assert set(printed) == {"processed", "updated", "skipped", "duration_ms", "complete", "cursor"}
    assert preferences.get(ORG, "alice").learned[STYLE].value == "watercolor"
    assert cli("jobs", "run", "learn-preferences", "--hour", hour)[1] == printed


@pytest.mark.parametrize(
    "argv",
    [
        ("--hour", "tomorrow"),
        ("--shard", str(ACTIVITY_SHARDS)),
    ],
)
def test_parley_jobs_run_refuses_bad_arguments(cli: Any, argv: tuple[str, ...]) -> None:
    code, out, err = cli("jobs", "run", "learn-preferences", *argv)
    assert code == 2
    assert out is None
    assert err.startswith("parley: ")
