"""Weighing a user's choices and the confidence of what they say (parley.preferences.learning)."""

from __future__ import annotations

import math
import random

import pytest

from parley.preferences.learning import (
    CEILING,
    DISLIKED,
    FLOOR,
    HALF_LIFE_DAYS,
    HALF_LIFE_GRID,
    LIKED,
    NEUTRAL,
    SUPPORT_KEPT,
    ChoiceRecord,
    Estimate,
    confidence,
    estimate_fields,
    estimate_preferences,
    evidence_bound,
    is_negative,
    is_positive,
    option_label,
    probability_top_is_preferred,
    sentiment,
)

DAY_MS = 86_400_000
STYLE = "pictures.defaultStyle"


def pictures(style: str, *, feedback: int = NEUTRAL, at_ms: int | None = None) -> ChoiceRecord:
    return ChoiceRecord("pictures", {"defaultStyle": style}, feedback, at_ms)


def in_order(*styles: str, feedback: int = NEUTRAL) -> list[ChoiceRecord]:
    """Messages sent in this order, oldest first, a minute apart on one day."""
    return [
        pictures(style, feedback=feedback, at_ms=1_790_000_000_000 + index * 60_000)
        for index, style in enumerate(styles)
    ]


def style(records: list[ChoiceRecord]) -> Estimate | None:
    return estimate_preferences(records).get(STYLE)


# The examples --------------------------------------------------------------------------


def test_a_changed_taste_wins_fifteen_watercolor_then_ten_anime() -> None:
    estimate = style(in_order(*["watercolor"] * 15, *["anime"] * 10))
    assert estimate is not None
    assert estimate.value == "anime"
    assert estimate.messages == 25
    assert estimate.support["anime"] > estimate.support["watercolor"]
    assert FLOOR < estimate.confidence <= evidence_bound(10)
    # The switch is best predicted by the shortest half-life of the grid, with or without the
    # panel's twelve styles declared.
    for options in (None, {STYLE: 12}):
        records = in_order(*["watercolor"] * 15, *["anime"] * 10)
        found = estimate_fields(records, options=options)[STYLE]
        assert (found.value, found.half_life, found.learned) == ("anime", 10, True)


def test_a_plurality_is_learned_anime_four_times_three_others_twice() -> None:
    records = in_order(*["oil", "pencil", "ink", "anime"] * 2, "anime", "anime")
    estimate = style(records)
    assert estimate is not None
    assert estimate.value == "anime"
    assert estimate.confidence > FLOOR
    assert len(estimate.support) == SUPPORT_KEPT  # the best three of four options
    # Whatever the order of the ten messages, and with the panel's twelve styles declared.
    others = ["oil", "oil", "pencil", "pencil", "ink", "ink"]
    for ordered in (["anime"] * 4 + others, others + ["anime"] * 4):
        found = estimate_fields(in_order(*ordered), options={STYLE: 12})[STYLE]
        assert (found.value, found.learned, found.half_life) == ("anime", True, math.inf)


def test_disliked_choices_do_not_win_six_thumbs_down_watercolor_then_four_anime() -> None:
    records = in_order(*["watercolor"] * 6, feedback=DISLIKED) + [
        pictures("anime", at_ms=1_790_001_000_000 + index) for index in range(4)
    ]
    estimate = style(records)
    assert estimate is not None
    assert estimate.value == "anime"
    assert estimate.support["watercolor"] < 0
    # The dislikes say nothing for anime: it is as sure as four anime messages alone.
    assert estimate.confidence == style(records[6:]).confidence  # type: ignore[union-attr]


def test_likes_do_not_inflate_confidence_three_thumbs_up_is_not_above_three_unrated() -> None:
    unrated = style(in_order(*["watercolor"] * 3))
    liked = style(in_order(*["watercolor"] * 3, feedback=LIKED))
    assert unrated is not None
    assert liked is not None
    assert liked.confidence <= unrated.confidence
    assert liked.messages == unrated.messages == 3
    assert unrated.confidence <= evidence_bound(3) < 0.81  # the old rule gave 3 likes 0.81


# Properties ----------------------------------------------------------------------------------


def test_order_matters() -> None:
    # 10 and 10: a change the history shows (5 and 5 is no evidence of one: a tie, see below).
    older_oil = style(in_order(*["oil"] * 10, *["watercolor"] * 10))
    older_watercolor = style(in_order(*["watercolor"] * 10, *["oil"] * 10))
    assert older_oil is not None
    assert older_watercolor is not None
    assert (older_oil.value, older_watercolor.value) == ("watercolor", "oil")


def test_age_halves_a_message_every_seven_days() -> None:
    now = 1_790_000_000_000
    records = [pictures("watercolor", at_ms=now), pictures("oil", at_ms=now - 7 * DAY_MS)]
    found = estimate_fields(records)[STYLE]
    # oil: one week older (half) and one message older (2 ** -1/h, h the half-life chosen)
    assert found.half_life in HALF_LIFE_GRID
    assert found.support["oil"] == pytest.approx(0.5 * 2 ** (-1 / found.half_life), abs=1e-3)
    assert found.support["watercolor"] == 1.0
    assert HALF_LIFE_DAYS == 7


def test_ten_new_choices_outweigh_any_history_of_one_day() -> None:
    for old in (10, 30, 90):
        estimate = estimate_fields(in_order(*["oil"] * old, *["watercolor"] * 10))[STYLE]
        assert estimate.value == "watercolor"


@pytest.mark.parametrize("count", [1, 3, 6, 12])
def test_disliked_choices_never_win_on_their_own(count: int) -> None:
    assert style(in_order(*["watercolor"] * count, feedback=DISLIKED)) is None
    mixed = in_order(*["watercolor", "oil"] * count, feedback=DISLIKED)
    assert style(mixed) is None


@pytest.mark.parametrize("feedback", [NEUTRAL, LIKED])
def test_fewer_than_eight_messages_never_exceed_08(feedback: int) -> None:
    rng = random.Random(14)
    for count in range(1, 8):
        for _ in range(30):
            styles = [rng.choice(["watercolor", "watercolor", "oil"]) for _ in range(count)]
            found = estimate_fields(in_order(*styles, feedback=feedback))[STYLE]
            assert found.confidence <= evidence_bound(count) <= 0.8
        unanimous = estimate_fields(in_order(*["watercolor"] * count))[STYLE]
        assert unanimous.confidence <= 0.8


def test_confidence_grows_with_agreeing_evidence_and_stays_bounded() -> None:
    previous = 0.0
    for count in range(1, 60):
        found = estimate_fields(in_order(*["oil"] * 3, *["watercolor"] * count))[STYLE]
        if found.value == "watercolor":
            assert found.confidence >= previous
            previous = found.confidence
        assert found.confidence <= CEILING
    assert previous > 0.8


def test_a_near_tie_learns_nothing() -> None:
    for styles in (["watercolor", "oil"] * 3, ["watercolor", "oil", "pencil"] * 2):
        assert style(in_order(*styles)) is None


def test_confidence_is_the_posterior_probability_bounded_by_evidence() -> None:
    # Two options with 3 and 1 effective messages, three options in the prior.
    exact = probability_top_is_preferred([4.0, 2.0, 1.0])
    assert 0.5 < exact < 1
    assert confidence([3.0, 1.0]) == pytest.approx(min(exact, evidence_bound(4.0)), abs=1e-3)
    assert confidence([3.0, 1.0]) <= min(exact, evidence_bound(4.0))  # rounded down
    # A field with one option seen: bounded by the evidence alone.
    assert confidence([2.0]) == evidence_bound(2.0) == 0.6
    # Declared options widen the prior.
    assert confidence([3.0, 1.0], options=8) <= confidence([3.0, 1.0])
    assert probability_top_is_preferred([3.0, 3.0]) == pytest.approx(0.5, abs=1e-3)


def test_one_message_never_learns_and_a_few_stay_near_the_floor() -> None:
    assert style(in_order("watercolor")) is None
    # Two unanimous messages of a field that declares no options: a weak default, at most 0.6.
    two = style(in_order("watercolor", "watercolor"))
    assert two is not None
    assert FLOOR < two.confidence <= evidence_bound(2) == 0.6
    # With the panel's twelve declared styles two are not enough; three are.
    assert not estimate_fields(in_order("watercolor", "watercolor"), options={STYLE: 12})[
        STYLE
    ].learned
    three = estimate_fields(in_order(*["watercolor"] * 3), options={STYLE: 12})[STYLE]
    assert FLOOR < three.confidence <= evidence_bound(3)


def test_five_and_five_is_a_tie_not_a_change() -> None:
    # A shorter memory explains 5 x oil then 5 x watercolor better by less than a nat, so no
    # decay is chosen and neither option is the likelier favourite: nothing is learned.
    found = estimate_fields(in_order(*["oil"] * 5, *["watercolor"] * 5))[STYLE]
    assert found.half_life == math.inf
    assert not found.learned


def test_list_values_compare_as_sorted_and_are_learned_sorted() -> None:
    records = [
        ChoiceRecord("content", {"defaultPlatforms": ["x", "instagram"]}),
        ChoiceRecord("content", {"defaultPlatforms": ["instagram", "x"]}),
        ChoiceRecord("content", {"defaultPlatforms": ["x", "instagram"]}),
    ]
    estimate = estimate_preferences(records)["content.defaultPlatforms"]
    assert estimate.value == ["instagram", "x"]
    assert estimate.messages == 3
    # Unanimous: no decay predicts them best, so each message counts fully.
    assert estimate.support == {option_label(["instagram", "x"]): 3.0}
    assert option_label(["instagram", "x"]) == '["instagram","x"]'


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
    assert set(estimate_fields(records)) == {
        "video.defaultDuration",
        "video.defaultProvider",
        "content.defaultTone",
    }


def test_true_is_not_one() -> None:
    # Were True and 1 one value, these four messages would be unanimous; they are a tie.
    records = [ChoiceRecord("content", {"flag": True}), ChoiceRecord("content", {"flag": 1})] * 2
    assert estimate_preferences(records) == {}
    records = [ChoiceRecord("content", {"flag": True})] * 4 + records
    learned = estimate_preferences(records)["content.flag"]
    assert learned.value is True
    assert learned.messages == 8


def test_values_that_are_not_choices_are_ignored() -> None:
    records = [
        ChoiceRecord("pictures", {"defaultStyle": None}),
        ChoiceRecord("pictures", {"defaultStyle": {"nested": "x"}}),
        ChoiceRecord("pictures", {"defaultStyle": ""}),
        ChoiceRecord("pictures", {"defaultStyle": [1, 2]}),
        ChoiceRecord("", {"defaultStyle": "watercolor"}),
    ] * 3
    assert estimate_fields(records) == {}


def test_records_are_weighed_by_time_not_by_the_order_given() -> None:
    records = in_order(*["oil"] * 4, *["watercolor"] * 6)
    shuffled = list(records)
    random.Random(7).shuffle(shuffled)
    assert estimate_fields(shuffled) == estimate_fields(records)


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


@pytest.mark.parametrize(
    ("feedback", "expected"),
    [
        (None, NEUTRAL),
        ({"thumbs": 1}, LIKED),
        ({"thumbs": -1}, DISLIKED),
        ({"rating": 2}, DISLIKED),
        ({"rating": 1}, DISLIKED),
        ({"rating": 3}, NEUTRAL),
        ({"rating": 5, "thumbs": -1}, LIKED),  # liked wins a contradiction
        ({"thumbs": False}, NEUTRAL),
        ({"rating": True}, NEUTRAL),
    ],
)
def test_sentiment(feedback: dict[str, object] | None, expected: int) -> None:
    assert sentiment(feedback) == expected
    assert is_negative(feedback) is (expected == DISLIKED)


def test_the_lowest_id_of_a_millisecond_bounds_the_history_window() -> None:
    from parley.ids import id_floor, id_timestamp_ms, new_id

    cut_off = 1_790_000_000_000
    assert id_timestamp_ms(id_floor(cut_off)) == cut_off
    assert id_floor(cut_off) <= new_id(cut_off) < id_floor(cut_off + 1)
    assert new_id(cut_off - 1) < id_floor(cut_off)


def test_evidence_a_dislike_cancels_goes_to_no_other_option() -> None:
    # Four watercolors, then four more rated down, then one oil.
    styles = ["watercolor"] * 8 + ["oil"]
    feedback = [NEUTRAL] * 4 + [DISLIKED] * 4 + [NEUTRAL]
    records = [
        pictures(name, feedback=rated, at_ms=1_790_000_000_000 + index * 60_000)
        for index, (name, rated) in enumerate(zip(styles, feedback, strict=True))
    ]
    found = estimate_fields(records)[STYLE]
    assert found.value == "oil"
    assert found.confidence <= evidence_bound(1.0)  # one oil message's worth, not five
    assert style(records) is None


# The adaptive half-life ------------------------------------------------------------------------


def noisy(count: int, *, favourite: str, others: list[str], share: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [favourite if rng.random() < share else rng.choice(others) for _ in range(count)]


def test_a_noisy_steady_user_keeps_a_long_half_life_and_is_learned() -> None:
    # A favourite chosen 45% of the time among five options, 80 messages: the long history is
    # the signal. (With 40 such messages a run of noise picks 10 for some users: see the docs.)
    others = ["oil", "pencil", "ink", "anime"]
    half_lives = []
    for seed in range(10):
        styles = noisy(80, favourite="watercolor", others=others, share=0.45, seed=seed)
        found = estimate_fields(in_order(*styles), options={STYLE: 12})[STYLE]
        assert (found.value, found.learned) == ("watercolor", True)
        half_lives.append(found.half_life)
    assert sum(half_life >= 20 for half_life in half_lives) >= 8


def test_a_drift_picks_a_short_half_life_and_the_new_taste() -> None:
    for seed in range(5):
        styles = noisy(20, favourite="watercolor", others=["oil", "ink"], share=0.9, seed=seed)
        styles += noisy(20, favourite="anime", others=["oil", "ink"], share=0.9, seed=seed + 9)
        found = estimate_fields(in_order(*styles), options={STYLE: 12})[STYLE]
        assert found.half_life == HALF_LIFE_GRID[0] == 10
        assert (found.value, found.learned) == ("anime", True)


def test_unanimous_choices_pick_no_decay() -> None:
    found = estimate_fields(in_order(*["watercolor"] * 12))[STYLE]
    assert found.half_life == HALF_LIFE_GRID[-1] == math.inf
    assert found.evidence == pytest.approx(12, abs=0.01)  # less eleven minutes' age


def test_a_single_message_ties_every_half_life_and_takes_the_longest() -> None:
    assert estimate_fields(in_order("watercolor"))[STYLE].half_life == math.inf


# Declared options ------------------------------------------------------------------------------


def test_the_declared_option_count_widens_the_prior() -> None:
    # The plurality: learned either way, less surely when the field declares twelve
    # options (8 more that could be the favourite of 10 messages) than the four seen.
    records = in_order(*["oil", "pencil", "ink", "anime"] * 2, "anime", "anime")
    seen = estimate_fields(records)[STYLE]
    declared = estimate_fields(records, options={STYLE: 12})[STYLE]
    assert seen.value == declared.value == "anime"
    assert seen.learned
    assert declared.confidence < seen.confidence
    assert declared.learned
    # Fewer declared than seen (a narrowed panel): the options seen still count.
    assert estimate_fields(records, options={STYLE: 2})[STYLE].confidence == seen.confidence
    # Other fields are unaffected by a declaration for this one.
    other = estimate_fields(records, options={"pictures.defaultProvider": 12})[STYLE]
    assert other.confidence == seen.confidence
