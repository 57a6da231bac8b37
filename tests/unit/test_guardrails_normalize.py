"""The matching form: accents, case, leetspeak, repeats, split words and chat abbreviations."""

from __future__ import annotations

import pytest

from parley.guardrails.language import detect_language
from parley.guardrails.normalize import matching_form, matching_pattern


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("SUICIDIO", "suicidio"),
        ("Me quiero morir", "me quiero morir"),
        ("I want to k1ll mys3lf", "i want to kil myself"),
        ("m3 qui3r0 m0r1r", "me quiero morir"),
        ("me muerooooo", "me muero"),
        ("sui cide", "suicide"),
        ("s u i c i d e", "suicide"),
        ("kms", "kil myself"),
        ("xq ya no kiero vivir", "porque ya no quiero vivir"),
        ("I don\u2019t want to live", "i dont want to live"),
        ("i want 2 d1e", "i want to die"),
        ("  cuiden   a mi perro  por mí ", "cuiden a mi pero por mi"),
    ],
)
def test_the_variations_of_a_word_are_one_form(text: str, form: str) -> None:
    assert matching_form(text) == form


def test_numbers_in_code_keep_their_digits() -> None:
    assert matching_form("kill -9 1234 on port 8080") == "kil -9 1234 on port 8080"
    assert matching_form("it costs $5") == "it costs $5"


def test_a_pattern_is_compiled_in_the_same_form() -> None:
    assert matching_pattern(r"\bkill\s+myself\b").search(matching_form("KILLLL myself"))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ya no quiero seguir viviendo", "es"),
        ("me muero de la risa con este video", "es"),
        ("necesito help con mi homework", "es"),
        ("¿qué hago?", "es"),
        ("this exam is killing me", "en"),
        ("kill -9 the worker", "en"),
        ("", "en"),
        ("😂😂", "en"),
    ],
)
def test_the_language_is_the_grammar_s(text: str, language: str) -> None:
    assert detect_language(text) == language
