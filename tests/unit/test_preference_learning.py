"""Counting a user's choices and the confidence of what they say (parley.preferences.learning)."""

from __future__ import annotations

import random

import pytest

from parley.preferences.learning import (
    CEILING,
    FLOOR,
    ChoiceRecord,
    confidence,
    estimate_preferences,
    is_positive,
)


def pictures(style: str, *, positive: bool = False) -> ChoiceRecord:
    return ChoiceRecord("pictures", {"defaultStyle": style}, positive)


def test_one_dominating_style_is_learned_with_high_confidence() -> None:
    records = [pictures("watercolor")] * 9 + [pictures("oil")]
    learned = estimate_preferences(records)
    assert set(learned) == {"pictures.defaultStyle"}
    estimate = learned["pictures.defaultStyle"]
    assert estimate.value == "watercolor"
    assert estimate.samples == 10
    # dominance 0.8, full evidence: 0.6 + 0.35 * 0.8
    assert estimate.confidence == pytest.approx(0.88)


def test_three_unanimous_choices_are_the_least_evidence_that_learns() -> None:
    assert estimate_preferences([pictures("watercolor")] * 2) == {}
    estimate = estimate_preferences([pictures("watercolor")] * 3)["pictures.defaultStyle"]
    assert estimate.confidence == pytest.approx(0.705)
    assert FLOOR < estimate.confidence <= CEILING


@pytest.mark.parametrize(
    "styles",
    [
        ["watercolor", "oil"] * 3,  # an even split
        ["watercolor", "oil", "pencil", "watercolor", "oil", "pencil"],
        ["watercolor", "watercolor", "oil", "oil", "pencil"],  # a plurality, not a majority
    ],
)
def test_mixed_choices_learn_nothing(styles: list[str]) -> None:
    assert estimate_preferences([pictures(style) for style in styles]) == {}


def test_positive_feedback_weighs_twice_and_tips_a_tie() -> None:
    tie = [pictures("watercolor"), pictures("watercolor"), pictures("oil"), pictures("oil")]
    assert estimate_preferences(tie) == {}
    liked = [pictures("watercolor", positive=True), *tie[1:]]
    estimate = estimate_preferences(liked)["pictures.defaultStyle"]
    assert estimate.value == "watercolor"
    assert estimate.samples == 5  # 2 + 1 for watercolor, 2 for oil
    assert estimate.confidence == pytest.approx(0.635)  # share 0.6, evidence 0.5


def test_confidence_is_capped_at_095() -> None:
    assert confidence(10, 10) == CEILING
    estimate = estimate_preferences([pictures("watercolor", positive=True)] * 500)
    assert estimate["pictures.defaultStyle"].confidence == CEILING
    assert estimate["pictures.defaultStyle"].samples == 1000


def test_confidence_stays_in_its_range() -> None:
    for total in range(0, 40):
        for top in range(0, total + 1):
            assert FLOOR <= confidence(top, total) <= CEILING


def test_list_values_compare_as_sorted_and_are_learned_sorted() -> None:
    records = [
        ChoiceRecord("content", {"defaultPlatforms": ["x", "instagram"]}),
        ChoiceRecord("content", {"defaultPlatforms": ["instagram", "x"]}),
        ChoiceRecord("content", {"defaultPlatforms": ["x", "instagram"]}),
    ]
    estimate = estimate_preferences(records)["content.defaultPlatforms"]
    assert estimate.value == ["instagram", "x"]
    assert estimate.samples == 3


def test_integer_values_and_several_fields_at_once() -> None:
    records = [
        ChoiceRecord("video", {"defaultDuration": 30, "defaultProvider": "runway"}),
        ChoiceRecord("video", {"defaultDuration": 30, "defaultProvider": "pika"}),
        ChoiceRecord("video", {"defaultDuration": 30, "defaultProvider": "luma"}),
        ChoiceRecord("content", {"defaultTone": "friendly"}),
    ]
    learned = estimate_preferences(records)
    assert set(learned) == {"video.defaultDuration"}
    assert learned["video.defaultDuration"].value == 30
    assert isinstance(learned["video.defaultDuration"].value, int)


def test_true_is_not_one() -> None:
    # Were True and 1 one value, these four votes would be unanimous; they are a tie.
    records = [ChoiceRecord("content", {"flag": True}), ChoiceRecord("content", {"flag": 1})] * 2
    assert estimate_preferences(records) == {}
    records += [ChoiceRecord("content", {"flag": True})] * 2
    learned = estimate_preferences(records)["content.flag"]
    assert learned.value is True
    assert learned.samples == 6


def test_values_that_are_not_choices_are_ignored() -> None:
    records = [
        ChoiceRecord("pictures", {"defaultStyle": None}),
        ChoiceRecord("pictures", {"defaultStyle": {"nested": "x"}}),
        ChoiceRecord("pictures", {"defaultStyle": ""}),
        ChoiceRecord("pictures", {"defaultStyle": [1, 2]}),
        ChoiceRecord("", {"defaultStyle": "watercolor"}),
    ] * 3
    assert estimate_preferences(records) == {}


def test_the_result_does_not_depend_on_order() -> None:
    records = (
        [pictures("watercolor")] * 6
        + [pictures("oil", positive=True)]
        + [ChoiceRecord("content", {"defaultPlatforms": ["b", "a"]})] * 4
    )
    expected = estimate_preferences(records)
    shuffled = list(records)
    random.Random(7).shuffle(shuffled)
    assert estimate_preferences(shuffled) == expected
    assert expected["pictures.defaultStyle"].value == "watercolor"


@pytest.mark.parametrize(
    ("feedback", "positive"),
    [
        (None, False),
        ({}, False),
        ({"thumbs": 1}, True),
        ({"thumbs": -1}, False),
        ({"rating": 4}, True),
        ({"rating": 5, "thumbs": -1}, True),
        ({"rating": 3}, False),
        ({"thumbs": True}, False),  # a bool is not a thumbs value
        ({"satisfaction": 0.99}, False),  # implicit signals do not count as positive
    ],
)
def test_positive_feedback(feedback: dict[str, object] | None, positive: bool) -> None:
    assert is_positive(feedback) is positive


def test_the_lowest_id_of_a_millisecond_bounds_the_history_window() -> None:
    from parley.ids import id_floor, id_timestamp_ms, new_id

    cut_off = 1_790_000_000_000
    assert id_timestamp_ms(id_floor(cut_off)) == cut_off
    assert id_floor(cut_off) <= new_id(cut_off) < id_floor(cut_off + 1)
    assert new_id(cut_off - 1) < id_floor(cut_off)
