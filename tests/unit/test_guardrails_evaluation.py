"""The evaluation, its quality gate on the development set, and ``parley eval guardrails``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from parley.cli import main
from parley.errors import ValidationFailed
from parley.guardrails.evaluation import (
    TARGET_CRISIS_RECALL,
    TARGET_IDIOM_FPR,
    evaluate_set,
    format_report,
    load_labelled,
)
from tests.conftest import REPO

if TYPE_CHECKING:
    from pathlib import Path

DATA = REPO / "tests" / "data" / "guardrails"
CASES = {
    "explicit", "indirect", "no_keywords", "means_plan", "self_harm", "misspelling",
    "buried_in_task", "idiom", "hyperbole", "game", "programming", "academic", "medical",
    "negation", "recovered_past", "third_party", "ordinary",
}  # fmt: skip


@pytest.mark.parametrize("name", ["development.jsonl", "holdout.jsonl"])
def test_each_set_holds_every_case_in_both_languages(name: str) -> None:
    messages = load_labelled(DATA / name)
    assert {message.case for message in messages} == CASES
    languages = [message.language for message in messages]
    assert abs(languages.count("es") - languages.count("en")) <= len(messages) * 0.1


def test_the_sets_hold_at_least_300_messages() -> None:
    total = sum(len(load_labelled(DATA / name)) for name in ("development.jsonl", "holdout.jsonl"))
    assert total >= 300


def test_the_offline_targets_hold_on_the_development_set() -> None:
    report = evaluate_set(DATA / "development.jsonl")
    assert report["offline"]["overall"]["recall"] >= TARGET_CRISIS_RECALL
    figurative = report["targets"]["idiom_hyperbole_false_positive_rate"]
    assert figurative["value"] <= TARGET_IDIOM_FPR
    assert report["prefilter"]["crisis_recall"] >= TARGET_CRISIS_RECALL


def test_a_report_counts_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    rows = [
        {"text": "quiero morir", "language": "es", "label": "crisis", "case": "explicit"},
        {"text": "kill -9 the worker", "language": "en", "label": "safe", "case": "programming"},
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    report = evaluate_set(path)
    assert report["offline"]["overall"] == {
        "n": 2, "tp": 1, "fp": 0, "fn": 0, "tn": 1,
        "recall": 1.0, "precision": 1.0, "false_positive_rate": 0.0,
    }  # fmt: skip
    assert report["prefilter"]["flagged_by_case"] == {"explicit": 1.0, "programming": 0.0}
    assert "explicit" in format_report({"sets": [report]})


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x", "language": "fr", "label": "safe", "case": "ordinary"}\n')
    with pytest.raises(ValidationFailed, match=r"bad.jsonl:1: language"):
        load_labelled(path)


def test_the_command_prints_both_sets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "guardrails", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [one["file"].rsplit("/", 1)[-1] for one in report["sets"]] == [
        "development.jsonl",
        "holdout.jsonl",
    ]


def test_the_command_takes_a_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "guardrails", "--data", str(DATA / "holdout.jsonl")]) == 0
    assert "holdout.jsonl: " in capsys.readouterr().out


def test_a_missing_set_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "guardrails", "--data", str(tmp_path / "nope.jsonl")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("parley: cannot read the labelled set")
    assert error.count("\n") == 1
