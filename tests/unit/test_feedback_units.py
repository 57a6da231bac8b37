"""Feedback bodies, the implicit satisfaction score, date ranges and the analytics rates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from parley.errors import ValidationFailed
from parley.feedback.analytics import period_start, summarise
from parley.feedback.days import DayRange
from parley.feedback.repository import is_positive
from parley.feedback.satisfaction import implicit_satisfaction
from parley.feedback.schemas import ApprovalRequest, CorrectionRequest, FeedbackRequest

MESSAGE = "01JDQ7ZG7A2M4X5R6T8V9W0YZB"


def test_a_full_feedback_body_validates_and_canonicalises() -> None:
    body = FeedbackRequest.model_validate(
        {
            "message_id": MESSAGE,
            "thumbs": -1,
            "rating": 2,
            "reasons": ["wrong_style", "too-long"],
            "comment": "Not what I asked",
            "signals": {"continued": True, "response_seconds": 3},
        }
    )
    assert body.submission() == {
        "message_id": MESSAGE,
        "thumbs": -1,
        "rating": 2,
        "reasons": ["wrong_style", "too-long"],
        "comment": "Not what I asked",
        "signals": {"continued": True, "response_seconds": 3.0},
    }


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"signals": {}},
        {"reasons": []},
        {"comment": ""},
        {"thumbs": 0},
        {"thumbs": True},
        {"rating": 5.0},
        {"rating": "5"},
        {"reasons": ["UPPER"]},
        {"reasons": ["x" * 41]},
        {"signals": {"asked_for_human": 1}},
        {"signals": {"response_seconds": -0.5}},
        {"extra": 1},
    ],
)
def test_bad_feedback_bodies_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FeedbackRequest.model_validate({"message_id": MESSAGE, **fields})


def test_a_signal_alone_is_enough() -> None:
    body = FeedbackRequest.model_validate(
        {"message_id": MESSAGE, "signals": {"asked_for_human": False}}
    )
    assert body.signals is not None
    assert body.signals.given() == {"asked_for_human": False}


def test_correction_and_approval_bodies() -> None:
    CorrectionRequest.model_validate(
        {
            "prompt": "q",
            "original_reply": "a",
            "corrected_reply": "b",
            "reason": "r",
            "category": "tone",
        }
    )
    with pytest.raises(ValidationError):
        CorrectionRequest.model_validate(
            {"prompt": "q", "original_reply": "a", "corrected_reply": "b", "reason": "r"}
        )
    assert ApprovalRequest.model_validate({"quality": 0}).quality == 0
    with pytest.raises(ValidationError):
        ApprovalRequest.model_validate({"quality": 6})


@pytest.mark.parametrize(
    ("signals", "score"),
    [
        (None, None),
        ({}, None),
        ({"action_completed": True}, 1.0),
        ({"action_completed": False}, 0.0),
        ({"asked_for_human": True}, 0.0),
        ({"asked_for_human": False}, 1.0),
        ({"continued": True, "action_completed": True}, 1.0),
        # (0.4 x 1 + 0.3 x 0) / 0.7
        ({"action_completed": True, "asked_for_human": True}, 0.5714),
        ({"response_seconds": 10}, 1.0),
        ({"response_seconds": 165}, 0.5),
        ({"response_seconds": 600}, 0.0),
        # (0.2 x 0 + 0.1 x 0.5) / 0.3
        ({"continued": False, "response_seconds": 165}, 0.1667),
        # all four: (0.4 + 0.3 + 0.2 + 0.1) / 1.0
        (
            {
                "action_completed": True,
                "asked_for_human": False,
                "continued": True,
                "response_seconds": 5,
            },
            1.0,
        ),
    ],
)
def test_implicit_satisfaction_follows_the_documented_formula(
    signals: dict[str, Any] | None, score: float | None
) -> None:
    assert implicit_satisfaction(signals) == score


def test_positive_feedback_is_thumbs_up_or_rating_4_and_above() -> None:
    assert is_positive({"thumbs": 1})
    assert is_positive({"rating": 4})
    assert not is_positive({"thumbs": -1, "rating": 3})
    assert not is_positive({})


def test_day_ranges() -> None:
    now = 1_796_119_200.0  # 2026-12-01T10:00Z
    default = DayRange.parse(None, None, now=now)
    assert (default.first, default.last) == (date(2026, 11, 25), date(2026, 12, 1))
    assert len(default.days()) == 7
    assert DayRange.parse(date(2026, 11, 30), None, now=now).days() == ["2026-11-30", "2026-12-01"]
    assert DayRange.parse(date(2026, 9, 1), date(2026, 12, 1), now=now).days()[0] == "2026-09-01"
    with pytest.raises(ValidationFailed):
        DayRange.parse(date(2026, 8, 31), date(2026, 12, 1), now=now)  # 93 days
    with pytest.raises(ValidationFailed):
        DayRange.parse(date(2026, 12, 2), date(2026, 12, 1), now=now)
    # Ranges whose default end reaches past the calendar are refused, not an OverflowError.
    with pytest.raises(ValidationFailed, match="between 0001 and 9999"):
        DayRange.parse(None, date(1, 1, 1), now=now)
    with pytest.raises(ValidationFailed):
        DayRange.parse(date(9999, 12, 31), None, now=now)


def test_period_starts() -> None:
    thursday = date(2026, 11, 26)
    assert period_start(thursday, "day") == thursday
    assert period_start(thursday, "week") == date(2026, 11, 23)
    assert period_start(thursday, "month") == date(2026, 11, 1)


def test_summaries_count_only_what_each_rate_needs() -> None:
    days = DayRange(date(2026, 11, 30), date(2026, 12, 1))
    records = [
        {"created_at": "2026-11-30T09:00:00.000Z", "thumbs": 1},
        {"created_at": "2026-11-30T10:00:00.000Z", "thumbs": 1, "rating": 2},
        {"created_at": "2026-11-30T11:00:00.000Z", "thumbs": -1, "signals": {"continued": True}},
        {"created_at": "2026-12-01T11:00:00.000Z", "satisfaction": 0.25, "signals": {}},
        {"created_at": "2026-12-05T11:00:00.000Z", "thumbs": 1},  # outside: ignored
    ]
    summary = summarise(records, days, "day")
    assert summary["overall"]["count"] == 4
    assert summary["overall"]["helpful_rate"] == 0.6667
    assert summary["overall"]["average_rating"] == 2.0
    assert summary["overall"]["implicit_satisfaction"] == 0.25
    assert summary["overall"]["continuation_rate"] == 1.0
    assert summary["overall"]["handoff_rate"] is None
    assert [p["count"] for p in summary["periods"]] == [3, 1]


def test_summaries_rate_each_model_and_count_comments() -> None:
    days = DayRange(date(2026, 11, 30), date(2026, 11, 30))
    records = [
        {
            "created_at": "2026-11-30T09:00:00Z",
            "model": "gpt-4.1",
            "provider": "openai",
            "thumbs": 1,
        },
        {
            "created_at": "2026-11-30T09:01:00Z",
            "model": "gpt-4.1",
            "provider": "openai",
            "thumbs": -1,
            "rating": 4,
            "satisfaction": 0.5,
            "comment": "too long",
        },
        {
            "created_at": "2026-11-30T09:02:00Z",
            "model": "claude-haiku-4-5",
            "provider": "anthropic",
            "rating": 2,
            "comment": "  ",  # blank: not a comment
        },
        {"created_at": "2026-11-30T09:03:00Z", "thumbs": 1, "comment": "great"},  # no model
        {"created_at": "2026-12-02T09:00:00Z", "model": "gpt-4.1", "comment": "outside"},
    ]
    summary = summarise(records, days, "day")
    assert summary["comments"] == 2
    assert summary["byModel"] == [
        {
            "model": "gpt-4.1",
            "provider": "openai",
            "count": 2,
            "helpful_rate": 0.5,
            "average_rating": 4.0,
            "implicit_satisfaction": 0.5,
        },
        {
            "model": "claude-haiku-4-5",
            "provider": "anthropic",
            "count": 1,
            "helpful_rate": None,
            "average_rating": 2.0,
            "implicit_satisfaction": None,
        },
        {
            "model": None,
            "provider": None,
            "count": 1,
            "helpful_rate": 1.0,
            "average_rating": None,
            "implicit_satisfaction": None,
        },
    ]
