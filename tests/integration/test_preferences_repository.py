"""The preferences repository against DynamoDB (moto server, tables made from template.yaml):
versioned writes, learning that never overwrites an explicit value, run-id idempotency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from parley.errors import Forbidden, PreconditionFailed, ValidationFailed
from parley.preferences.repository import LearnedValue, PreferencesRepository
from parley.state.items import from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

ORG, USER = "acme", "alice"


@pytest.fixture
def repo(settings: Settings, dynamodb: DynamoDBClient) -> PreferencesRepository:
    return PreferencesRepository(settings.accounts_table, client=dynamodb, clock=lambda: 1.8e9)


def learned(value: Any, confidence: float = 0.82, samples: int = 7) -> LearnedValue:
    return LearnedValue(value, confidence, samples, "2026-12-01T10:00:00.000Z")


def test_nothing_stored_is_version_zero(repo: PreferencesRepository) -> None:
    stored = repo.get(ORG, USER)
    assert (stored.version, stored.explicit, stored.learned) == (0, {}, {})


def test_update_is_stored_in_the_documented_item(
    repo: PreferencesRepository, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    patch = {"preferences": {"pictures": {"defaultStyle": "watercolor"}}}
    stored = repo.update(ORG, USER, patch, expected_version=0)
    assert stored.version == 1
    item = dynamodb.get_item(
        TableName=settings.accounts_table,
        Key={"pk": {"S": f"USER#{ORG}#{USER}"}, "sk": {"S": "PREFERENCES"}},
    )["Item"]
    values = from_item(dict(item))
    assert values["version"] == 1
    assert values["type"] == "preferences"
    assert values["explicit"] == '{"preferences":{"pictures":{"defaultStyle":"watercolor"}}}'
    assert repo.get(ORG, USER).explicit == patch


def test_a_stale_version_writes_nothing(repo: PreferencesRepository) -> None:
    repo.update(ORG, USER, {"tier": "demo"}, expected_version=0)
    with pytest.raises(PreconditionFailed):
        repo.update(
            ORG, USER, {"preferences": {"video": {"defaultDuration": 9}}}, expected_version=0
        )
    assert repo.get(ORG, USER).version == 1


def test_invalid_and_tier_changes_are_refused(repo: PreferencesRepository) -> None:
    with pytest.raises(ValidationFailed) as caught:
        repo.update(ORG, USER, {"colour": "red"}, expected_version=None)
    assert caught.value.details[0]["loc"] == ["colour"]
    with pytest.raises(Forbidden):
        repo.update(ORG, USER, {"tier": "pro"}, expected_version=None)
    assert repo.update(ORG, USER, {"tier": "pro"}, expected_version=None, may_change_tier=True)
    assert repo.get(ORG, USER).explicit == {"tier": "pro"}


def test_learn_keeps_other_fields_and_never_overwrites_an_explicit_value(
    repo: PreferencesRepository,
) -> None:
    repo.update(
        ORG, USER, {"preferences": {"pictures": {"defaultStyle": "ink"}}}, expected_version=0
    )
    assert repo.learn(ORG, USER, {"video.defaultDuration": learned(15)}, run_id="run-1")
    changed = repo.learn(
        ORG,
        USER,
        {
            "pictures.defaultStyle": learned("watercolor"),
            "pictures.defaultProvider": learned("dalle"),
        },
        run_id="run-2",
    )
    assert changed
    stored = repo.get(ORG, USER)
    assert set(stored.learned) == {"video.defaultDuration", "pictures.defaultProvider"}
    assert stored.learned["video.defaultDuration"].value == 15
    assert stored.explicit["preferences"]["pictures"]["defaultStyle"] == "ink"
    assert stored.version == 3


def test_learning_from_a_stale_read_rereads_and_still_spares_what_the_user_set_since(
    repo: PreferencesRepository,
) -> None:
    read = repo.get(ORG, USER)  # what the job read, before the user chose a style themselves
    repo.update(
        ORG, USER, {"preferences": {"pictures": {"defaultStyle": "ink"}}}, expected_version=0
    )
    values = {"pictures.defaultStyle": learned("watercolor")}
    assert repo.learn(ORG, USER, values, run_id="run-1", read=read) is False
    stored = repo.get(ORG, USER)
    assert stored.explicit["preferences"]["pictures"]["defaultStyle"] == "ink"
    assert stored.learned == {}
    assert stored.version == 1
    # From a current read the first attempt is the write: one GetItem fewer for the job.
    values = {"pictures.defaultProvider": learned("dalle")}
    assert repo.learn(ORG, USER, values, run_id="run-2", read=stored) is True
    assert repo.get(ORG, USER).learned["pictures.defaultProvider"].value == "dalle"


def test_the_same_run_twice_is_a_no_op(repo: PreferencesRepository) -> None:
    values = {"pictures.defaultStyle": learned("watercolor")}
    assert repo.learn(ORG, USER, values, run_id="run-1") is True
    assert repo.learn(ORG, USER, {"pictures.defaultStyle": learned("oil")}, run_id="run-1") is False
    stored = repo.get(ORG, USER)
    assert stored.learned["pictures.defaultStyle"].value == "watercolor"
    assert stored.version == 1


def test_learn_drops_values_that_do_not_validate(repo: PreferencesRepository) -> None:
    values = {
        "video.defaultDuration": learned(10_000),  # above 600 seconds
        "pictures.unknown": learned("x"),
        "nonsense": learned("x"),
    }
    assert repo.learn(ORG, USER, values, run_id="run-1") is False
    assert repo.get(ORG, USER).version == 0


def test_reset_of_some_panels_keeps_the_others(repo: PreferencesRepository) -> None:
    repo.update(
        ORG,
        USER,
        {"preferences": {"pictures": {"defaultStyle": "ink"}, "video": {"defaultDuration": 8}}},
        expected_version=0,
    )
    repo.learn(ORG, USER, {"content.defaultTone": learned("Casual")}, run_id="r")
    repo.learn(ORG, USER, {"pictures.defaultProvider": learned("dalle")}, run_id="s")
    stored = repo.reset(ORG, USER, expected_version=3, panels=["pictures"])
    assert stored.explicit == {"preferences": {"video": {"defaultDuration": 8}}}
    assert set(stored.learned) == {"content.defaultTone"}
    everything = repo.reset(ORG, USER, expected_version=4)
    assert (everything.explicit, everything.learned, everything.version) == ({}, {}, 5)
