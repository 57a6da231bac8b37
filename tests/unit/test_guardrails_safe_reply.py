"""The safe-messaging reply, the footer for helping someone else, and the prompts after them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from parley.guardrails.resources import FIND_A_HELPLINE, crisis_lines
from parley.guardrails.safe_reply import (
    DEFAULT_REPLY,
    MAX_ORG_REPLY_CHARS,
    RESOURCES_PLACEHOLDER,
    SAFETY_SYSTEM_PROMPT,
    THIRD_PARTY_SYSTEM_PROMPT,
    format_lines,
    helper_footer,
    safe_reply,
)

if TYPE_CHECKING:
    from parley.guardrails.verdict import Language

# Words for methods and means a safe-messaging text never names, in both languages.
METHOD_WORDS = (
    "pill",
    "pastilla",
    "overdose",
    "sobredosis",
    "rope",
    "cuerda",
    "hang",
    "ahorc",
    "jump",
    "saltar",
    "tirarse",
    "bridge",
    "puente",
    "knife",
    "cuchillo",
    "gun",
    "pistola",
    "arma",
    "poison",
    "veneno",
    "cut",
    "cortar",
)
# Sensational or judging framings the guidance rules out.
FRAMINGS = ("committed suicide", "cometió suicidio", "se suicidó", "selfish", "egoísta")

COUNTRIES = ["ES", "US", "MX", "GB", "IE", "CA", "PR", "DE", "AR", "JP"]
LANGUAGES: list[Language] = ["es", "en"]


def _texts() -> list[str]:
    replies = [
        safe_reply(language, country).text for language in LANGUAGES for country in COUNTRIES
    ]
    footers = [
        helper_footer(language, country).text for language in LANGUAGES for country in COUNTRIES
    ]
    return [*replies, *footers, SAFETY_SYSTEM_PROMPT, THIRD_PARTY_SYSTEM_PROMPT]


def _words(text: str) -> str:
    return text.lower()


def test_the_spanish_reply_for_spain_gives_024_and_112() -> None:
    reply = safe_reply("es", "ES")
    assert "llama al 024" in reply.text
    assert "llama al 112" in reply.text
    assert reply.resources == crisis_lines("ES")
    assert (reply.language, reply.country) == ("es", "ES")


def test_the_english_reply_for_the_us_gives_988_and_911() -> None:
    text = safe_reply("en", "US").text
    assert "call or text 988" in text
    assert "call 911" in text
    assert "https://988lifeline.org" in text


def test_the_spanish_reply_for_the_us_gives_988s_spanish_option() -> None:
    text = safe_reply("es", "US").text
    assert "988" in text
    assert "911" in text
    assert "marca el 2" in text
    assert "AYUDA" in text


def test_the_spanish_reply_for_mexico_and_the_english_for_the_uk() -> None:
    assert "800 911 2000" in safe_reply("es", "MX").text
    uk = safe_reply("en", "GB").text
    assert "116 123" in uk
    assert "call 999 or 112" in uk


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_country_without_a_line_gets_find_a_helpline(language: Language) -> None:
    reply = safe_reply(language, "AR")
    assert "https://findahelpline.com" in reply.text
    assert reply.resources == (FIND_A_HELPLINE,)
    # Without a certain emergency number, the reply still says to call the local one.
    assert ("número de emergencias" if language == "es" else "local emergency number") in (
        reply.text
    )


def test_a_european_country_without_a_line_gets_112_and_find_a_helpline() -> None:
    text = safe_reply("en", "DE").text
    assert "call 112" in text
    assert "https://findahelpline.com" in text


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_line_reaches_the_text(language: Language, country: str) -> None:
    reply = safe_reply(language, country)
    for line in reply.resources:
        assert line.notes[language] in reply.text
    # The emergency number comes last, after the lines to talk to.
    assert reply.text.count("- ") == max(len(reply.resources), 2)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_default_reply_says_what_the_guidance_asks(language: Language) -> None:
    text = safe_reply(language, "ES").text
    if language == "es":
        assert re.search(r"\bIA\b", text)
        assert "alguien de confianza" in text
        assert "seguimos hablando" in text
    else:
        assert re.search(r"\bAI\b", text)
        assert "someone you trust" in text
        assert "keep talking" in text
    assert RESOURCES_PLACEHOLDER not in text


def test_the_default_texts_have_one_placeholder_each() -> None:
    assert all(text.count(RESOURCES_PLACEHOLDER) == 1 for text in DEFAULT_REPLY.values())


def test_no_text_names_a_method_or_frames_it_sensationally() -> None:
    for text in _texts():
        words = _words(text)
        for word in METHOD_WORDS:
            assert not re.search(rf"\b{word}", words), (word, text)
        for framing in FRAMINGS:
            # The prompts quote "committed suicide" only to forbid it.
            if text not in (SAFETY_SYSTEM_PROMPT, THIRD_PARTY_SYSTEM_PROMPT):
                assert framing not in words, (framing, text)


def test_no_text_promises_secrecy() -> None:
    for text in _texts():
        words = _words(text)
        assert "secret" not in words or "not promis" in words or "not promising" in words
        assert "secreto" not in words


def test_an_org_text_with_the_placeholder_gets_the_lines_there() -> None:
    org = "Hola. Aquí tienes ayuda:\n{resources}\nEstamos contigo."
    reply = safe_reply("es", "ES", org)
    block = format_lines(crisis_lines("ES"), "es")
    assert reply.text == f"Hola. Aquí tienes ayuda:\n{block}\nEstamos contigo."
    assert reply.resources == crisis_lines("ES")


def test_an_org_text_without_the_placeholder_gets_the_lines_after_it() -> None:
    reply = safe_reply("en", "US", "We're here for you.  \n")
    block = format_lines(crisis_lines("US"), "en")
    assert reply.text == f"We're here for you.\n\n{block}"


@pytest.mark.parametrize(
    "org",
    [
        "Braces {stay} as {0} and {} and {{doubled}} and {resources",
        "A {name} here, then {resources} and %s and %(x)s",
    ],
)
def test_only_the_placeholder_is_replaced_in_an_org_text(org: str) -> None:
    text = safe_reply("en", "GB", org).text
    for kept in ("{stay}", "{0}", "{}", "{{doubled}}", "{resources", "{name}", "%s", "%(x)s"):
        if kept in org.replace(RESOURCES_PLACEHOLDER, ""):
            assert kept in text
    assert "116 123" in text
    assert RESOURCES_PLACEHOLDER not in text


@pytest.mark.parametrize("org", [None, "", "   \n"])
def test_no_org_text_or_a_blank_one_gives_the_default(org: str | None) -> None:
    assert safe_reply("es", "MX", org).text == safe_reply("es", "MX").text


def test_the_org_bound_leaves_room_for_the_default_texts() -> None:
    assert all(len(text) < MAX_ORG_REPLY_CHARS for text in DEFAULT_REPLY.values())


def test_the_country_is_normalised_in_the_reply() -> None:
    assert safe_reply("en", "gb").country == "GB"
    assert safe_reply("en", "uk").resources == crisis_lines("GB")


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_helper_footer_is_short_and_follows_an_answer(language: Language, country: str) -> None:
    footer = helper_footer(language, country)
    assert footer.text.startswith("\n\n")
    assert not footer.text.startswith("\n\n\n")
    assert len(footer.text) < 800
    assert footer.resources == crisis_lines(country)
    for line in footer.resources:
        assert line.notes[language] in footer.text


def test_the_helper_footer_says_how_to_help_and_not_to_leave_them_alone() -> None:
    es = helper_footer("es", "ES").text
    assert "escúchala sin juzgar" in es
    assert "llama al 112 y no la dejes sola" in es
    assert "024" in es
    en = helper_footer("en", "US").text
    assert "listen without judging" in en
    assert "call 911 and don't leave them alone" in en
    assert "988" in en
    # Without a certain number, still the local one and not alone.
    assert "local emergency number and don't leave them alone" in helper_footer("en", "AR").text


def test_the_resources_as_json_match_the_lines() -> None:
    reply = safe_reply("es", "US")
    assert reply.resources_json() == [line.as_json() for line in crisis_lines("US")]
    assert [item["number"] for item in reply.resources_json()] == ["988", "911"]


def test_the_prompts_ask_for_safe_messaging() -> None:
    for prompt in (SAFETY_SYSTEM_PROMPT, THIRD_PARTY_SYSTEM_PROMPT):
        assert "Never give information about methods" in prompt
        assert "language the user writes in" in prompt
        assert "never make one up" in prompt
        assert "\\" not in prompt
        assert "  " not in prompt
    assert "you are an AI" in SAFETY_SYSTEM_PROMPT
    assert "someone they trust" in SAFETY_SYSTEM_PROMPT
    assert "keep talking" in SAFETY_SYSTEM_PROMPT
    assert "Do not promise to keep secrets" in SAFETY_SYSTEM_PROMPT
    assert "not leave them alone" in THIRD_PARTY_SYSTEM_PROMPT
