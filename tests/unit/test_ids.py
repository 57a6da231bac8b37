"""Time-ordered ids: unique, sortable by creation, timestamp recoverable."""

from __future__ import annotations

import pytest

from parley.ids import id_timestamp_ms, new_id


def test_ids_are_26_crockford_characters_and_unique() -> None:
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(value) == 26 and value.isalnum() and value.isupper() for value in ids)


def test_ids_sort_by_creation_time() -> None:
    earlier, later = new_id(now_ms=1_700_000_000_000), new_id(now_ms=1_700_000_000_001)
    assert earlier < later


def test_the_timestamp_can_be_read_back() -> None:
    assert id_timestamp_ms(new_id(now_ms=1_767_225_600_123)) == 1_767_225_600_123


@pytest.mark.parametrize("value", ["", "short", "U" * 26, "01ARZ3NDEKTSV4RRFFQ69G5FA!"])
def test_foreign_strings_are_not_ids(value: str) -> None:
    with pytest.raises(ValueError, match="not a Parley id"):
        id_timestamp_ms(value)


def test_ids_made_in_one_millisecond_still_increase() -> None:
    made = [new_id() for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
