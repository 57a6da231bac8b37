"""One contract, two backends: versioned items, and the preferences kept in them, behave the
same in DynamoDB (moto on loopback, tables made from template.yaml) and in memory: versioned
writes, learning that never overwrites an explicit value, run-id idempotency. The item's
layout in DynamoDB is in test_preferences_repository.py."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pytest

from parley.errors import Forbidden, PreconditionFailed, ValidationFailed
from parley.preferences.repository import LearnedValue, PreferencesRepository
from parley.state.items import UnstorableValue
from tests.support.stores import BACKENDS, versioned_items

if TYPE_CHECKING:
    from parley.state.versioned import VersionedItems

ORG, USER = "acme", "alice"
KEY = {"pk": f"USER#{ORG}#{USER}", "sk": "PREFERENCES"}


@pytest.fixture(params=BACKENDS)
def items(request: pytest.FixtureRequest) -> VersionedItems:
    return versioned_items(request, request.param)


@pytest.fixture
def repo(items: VersionedItems) -> PreferencesRepository:
    return PreferencesRepository(items, clock=lambda: 1.8e9)


def learned(value: Any, confidence: float = 0.82, samples: int = 7) -> LearnedValue:
    return LearnedValue(value, confidence, samples, "2026-12-01T10:00:00.000Z")


# Versioned items ---------------------------------------------------------------------------


def test_an_item_never_written_is_version_zero(items: VersionedItems) -> None:
    read = items.read(KEY)
    assert (read.attributes, read.version, read.exists) == ({}, 0, False)


def test_each_write_is_the_next_version_and_only_from_the_current_one(
    items: VersionedItems,
) -> None:
    assert items.put(KEY, 0, {"doc": "one", "runs": ["a"]}) == 1
    assert items.put(KEY, 0, {"doc": "lost"}) is None  # it exists now
    assert items.put(KEY, 1, {"doc": "two"}) == 2
    assert items.put(KEY, 1, {"doc": "stale"}) is None
    assert items.put(KEY, 3, {"doc": "ahead"}) is None
    read = items.read(KEY)
    assert (read.version, read.exists) == (2, True)
    assert read.attributes == {**KEY, "doc": "two", "version": 2}
    assert items.read({**KEY, "sk": "OTHER"}).version == 0


def test_a_read_is_a_copy_of_what_is_stored(items: VersionedItems) -> None:
    items.put(KEY, 0, {"runs": ["a"], "n": 1.0})
    first = items.read(KEY)
    assert first.attributes["n"] == 1  # stored as DynamoDB stores numbers
    first.attributes["runs"].append("changed by the caller")
    assert items.read(KEY).attributes["runs"] == ["a"]


def test_a_value_the_store_cannot_hold_is_a_422_and_nothing_is_written(
    items: VersionedItems,
) -> None:
    with pytest.raises(UnstorableValue):
        items.put(KEY, 0, {"n": math.inf})
    assert items.read(KEY).version == 0


# Preferences -------------------------------------------------------------------------------


def test_nothing_stored_is_version_zero(repo: PreferencesRepository) -> None:
    stored = repo.get(ORG, USER)
    assert (stored.version, stored.explicit, stored.learned) == (0, {}, {})


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


def test_learn_forgets_the_paths_named_once_per_run(repo: PreferencesRepository) -> None:
    values = {
        "pictures.defaultStyle": learned("watercolor"),
        "pictures.defaultProvider": learned("dalle"),
    }
    assert repo.learn(ORG, USER, values, run_id="run-1")
    assert repo.learn(ORG, USER, {}, run_id="run-2", forget=["pictures.defaultStyle"])
    assert set(repo.get(ORG, USER).learned) == {"pictures.defaultProvider"}
    version = repo.get(ORG, USER).version
    assert not repo.learn(ORG, USER, {}, run_id="run-2", forget=["pictures.defaultProvider"])
    assert not repo.learn(ORG, USER, {}, run_id="run-3", forget=["pictures.unknown"])
    assert repo.get(ORG, USER).version == version


def test_learned_values_keep_messages_and_support_and_old_entries_still_read() -> None:
    new = LearnedValue("anime", 0.76, 25, "t", messages=25, support={"anime": 7.5})
    assert LearnedValue.from_json(new.to_json()) == new
    old = LearnedValue.from_json({"value": "oil", "confidence": 0.7, "samples": 5})
    assert old == LearnedValue("oil", 0.7, 5, "")
    assert old is not None
    assert "messages" not in old.to_json()
    assert "support" not in old.to_json()
