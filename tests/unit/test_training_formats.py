"""Training examples in OpenAI's and Gemini's fine-tuning formats, checked against each SDK's
own types and the formats' rules, and the deterministic 80/20 split."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from parley.feedback.export import TrainingSet
from parley.feedback.formats import Example, gemini_line, jsonl, openai_line, split_of
from tests.support.fine_tuning import validate_gemini_line, validate_openai_line

EXAMPLE = Example(
    id="correction:01JDQ7ZG7A2M4X5R6T8V9W0YZB",
    source="corrections",
    prompt="What is your refund window? \u2014 asking for a friend",
    reply="Thirty days from purchase, no questions asked.",
    category="policy",
)


@pytest.mark.parametrize("system_prompt", [None, "You answer for Acme support."])
def test_openai_lines_are_valid_fine_tuning_examples(system_prompt: str | None) -> None:
    line = validate_openai_line(jsonl(openai_line(EXAMPLE, system_prompt)))
    roles = [message["role"] for message in line["messages"]]
    assert roles == (["system"] if system_prompt else []) + ["user", "assistant"]
    assert line["messages"][-2]["content"] == EXAMPLE.prompt
    assert line["messages"][-1]["content"] == EXAMPLE.reply


@pytest.mark.parametrize("system_prompt", [None, "You answer for Acme support."])
def test_gemini_lines_are_valid_tuning_examples(system_prompt: str | None) -> None:
    line = validate_gemini_line(jsonl(gemini_line(EXAMPLE, system_prompt)))
    assert ("systemInstruction" in line) is bool(system_prompt)
    assert line["contents"][0]["parts"] == [{"text": EXAMPLE.prompt}]
    assert line["contents"][1] == {"role": "model", "parts": [{"text": EXAMPLE.reply}]}


def test_the_validators_refuse_what_the_formats_forbid() -> None:
    bad_openai = [
        {"messages": [{"role": "user", "content": "hi"}]},  # no assistant
        {"messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]},
        {"messages": [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "y"}]},
        {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "y"}]},
    ]
    for line in bad_openai:
        with pytest.raises((AssertionError, ValueError)):
            validate_openai_line(jsonl(line))
    bad_gemini = [
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},  # ends with user
        {"contents": [{"role": "model", "parts": [{"text": "x"}]}]},
        {"contents": [{"role": "user", "parts": "hi"}, {"role": "model", "parts": []}]},
        {"messages": []},
    ]
    for line in bad_gemini:
        with pytest.raises((AssertionError, ValueError)):
            validate_gemini_line(jsonl(line))


def test_jsonl_keeps_unicode_and_one_line() -> None:
    text = jsonl({"text": "line one\nline two \u2014 caf\u00e9"})
    assert text.count("\n") == 1
    assert "\u2014" in text
    assert json.loads(text) == {"text": "line one\nline two \u2014 caf\u00e9"}


def test_the_split_is_deterministic_and_about_80_20() -> None:
    ids = [f"rated:{index:026d}" for index in range(200)]
    first = [split_of(example_id) for example_id in ids]
    assert first == [split_of(example_id) for example_id in ids]
    counts = Counter(first)
    assert set(counts) == {"train", "validation"}
    assert 140 <= counts["train"] <= 180  # 80% of 200 is 160; sha256 buckets are uniform
    # An example's split is its own: adding others never moves it.
    assert [split_of(i) for i in reversed(ids)] == list(reversed(first))


def test_a_training_set_sorts_its_lines_skips_empty_text_and_summarises() -> None:
    training = TrainingSet(org_id="acme", min_quality=3)
    examples = [
        Example(
            id=f"correction:{n:026d}",
            source="corrections",
            prompt=f"q{n:02d}",
            reply=f"a{n}",
            category="policy" if n % 2 else "tone",
        )
        for n in range(30)
    ]
    for example in reversed(examples):
        training.add(example)
    training.add(Example(id="rated:x", source="rated", prompt=" ", reply="a", category="rated"))
    summary = training.summary()
    assert summary["examples"] == 30
    assert summary["by_source"] == {"corrections": 30, "rated": 0}
    assert summary["by_category"] == {"policy": 15, "tone": 15}
    assert summary["skipped"]["empty_text"] == 1
    assert sum(summary["by_split"].values()) == 30
    lines = list(training.lines("openai", "train"))
    prompts = [json.loads(line)["messages"][0]["content"] for line in lines]
    assert prompts == sorted(prompts)  # ids sort the lines; same data, same bytes
    assert lines == list(training.lines("openai", "train"))
