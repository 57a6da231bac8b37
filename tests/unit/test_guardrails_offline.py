"""The offline classifier: crisis, third party or none, on the issue's hard cases."""

from __future__ import annotations

import pytest

from parley.guardrails.offline import classify_offline
from parley.guardrails.prefilter import screen


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ya no quiero seguir viviendo", "suicide"),
        ("I have the pills saved up", "suicide"),
        ("this is my last message to anyone", "suicide"),
        ("I've written letters to my family and given my cat away", "suicide"),
        ("help me with my math homework, I don't see the point of living anyway", "suicide"),
        ("i want to k1ll myself", "suicide"),
        ("me corto cuando me siento mal", "self_harm"),
        ("what is a lethal dose of paracetamol", "suicide"),
    ],
)
def test_crisis(text: str, category: str) -> None:
    verdict = classify_offline(text)
    assert verdict.is_crisis
    assert verdict.category == category
    assert verdict.stage == "offline"
    assert 0 <= verdict.confidence <= 1


@pytest.mark.parametrize(
    "text",
    [
        "this exam is killing me",
        "kill -9 the worker",
        "I got killed in Fortnite",
        "me muero de la risa con este video",
        "I'm writing an essay on suicide rates in Japan",
        "explain Durkheim's theory of suicide",
        "I would never kill myself",
        "no quiero morir, solo estoy cansado",
        "two years ago I tried to kill myself, now I'm doing great",
        "what's the max dose of ibuprofen for a headache",
    ],
)
def test_ordinary(text: str) -> None:
    verdict = classify_offline(text)
    assert not verdict.is_crisis
    assert verdict.category == "none"


@pytest.mark.parametrize(
    "text",
    ["my friend says she wants to kill herself", "mi hermano dice que se quiere morir"],
)
def test_someone_else_at_risk(text: str) -> None:
    verdict = classify_offline(text)
    assert not verdict.is_crisis
    assert verdict.third_party


def test_a_first_person_statement_outweighs_a_third_party_one() -> None:
    assert classify_offline("my sister wants to kill herself and so do I, I want to die").is_crisis


def test_the_reason_never_quotes_the_message() -> None:
    text = "quiero morir"
    verdict = classify_offline(text, screen(text))
    assert text not in verdict.reason
    assert verdict.reason.isascii()


def test_a_cleared_message_is_none() -> None:
    verdict = classify_offline("hola", screen("hola"))
    assert verdict.category == "none"
    assert not verdict.is_crisis
