"""Crisis lines by country, and the country a request's locale, org and language pick."""

from __future__ import annotations

import dataclasses

import pytest

from parley.guardrails.resources import (
    FIND_A_HELPLINE,
    KNOWN_COUNTRIES,
    CrisisLine,
    country_code,
    country_for,
    crisis_lines,
    is_country_code,
    locale_country,
)


def _numbers(country: str) -> list[str | None]:
    return [line.number for line in crisis_lines(country)]


@pytest.mark.parametrize(
    ("country", "numbers"),
    [
        ("ES", ["024", "112"]),
        ("US", ["988", "911"]),
        ("PR", ["988", "911"]),
        ("MX", ["800 911 2000", "911"]),
        ("GB", ["116 123", "999"]),
        ("IE", ["116 123", "112"]),
        ("CA", ["988", "911"]),
    ],
)
def test_each_known_country_gives_its_line_then_its_emergency_number(
    country: str, numbers: list[str]
) -> None:
    lines = crisis_lines(country)
    assert _numbers(country) == numbers
    assert [line.kind for line in lines] == ["crisis", "emergency"]
    # The country's own line is what to call: no directory for a known country.
    assert FIND_A_HELPLINE not in lines
    assert country in KNOWN_COUNTRIES


def test_the_lines_are_named_as_each_country_knows_them() -> None:
    assert crisis_lines("ES")[0].name == "Línea 024"
    assert crisis_lines("US")[0].name == "988 Suicide & Crisis Lifeline"
    assert crisis_lines("MX")[0].name == "Línea de la Vida"
    assert crisis_lines("GB")[0].name == "Samaritans"


def test_988_takes_texts_and_tells_spanish_speakers_option_2_and_ayuda() -> None:
    lifeline = crisis_lines("US")[0]
    assert lifeline.text == "988"
    assert lifeline.url == "https://988lifeline.org"
    assert "marca el 2" in lifeline.notes["es"]
    assert "AYUDA" in lifeline.notes["es"]


def test_the_uk_emergency_line_gives_999_and_112() -> None:
    emergency = crisis_lines("GB")[-1]
    assert emergency.notes["en"] == "call 999 or 112"
    assert emergency.notes["es"] == "llama al 999 o al 112"


@pytest.mark.parametrize("country", ["DE", "FR", "IT", "PT", "NO", "CH"])
def test_a_european_country_without_a_line_gets_112_then_the_directory(country: str) -> None:
    assert _numbers(country) == ["112", None]
    assert crisis_lines(country)[-1] is FIND_A_HELPLINE


@pytest.mark.parametrize("country", ["AR", "CO", "JP", "ZZ", "", "not a country"])
def test_a_country_without_a_certain_number_gets_only_the_directory(country: str) -> None:
    assert crisis_lines(country) == (FIND_A_HELPLINE,)
    assert FIND_A_HELPLINE.url == "https://findahelpline.com"


def test_a_country_is_read_in_either_case() -> None:
    assert crisis_lines("mx") == crisis_lines("MX")
    assert crisis_lines("uk") == crisis_lines("GB")


def test_every_line_says_in_both_languages_how_to_reach_it() -> None:
    for country in [*KNOWN_COUNTRIES, "DE", "AU", "NZ", "AR"]:
        for line in crisis_lines(country):
            assert set(line.notes) == {"es", "en"}
            for note in line.notes.values():
                # A clause that follows the name: lowercase, no final stop, its number in it.
                assert note[0].islower()
                assert not note.endswith(".")
                assert line.number is None or line.number in note
                if line.kind == "directory":
                    assert line.url is not None
                    assert line.url in note


def test_as_json_has_every_key_always_with_null_for_what_a_line_lacks() -> None:
    assert crisis_lines("ES")[0].as_json() == {
        "name": "Línea 024",
        "kind": "crisis",
        "number": "024",
        "text": None,
        "url": None,
        "hours": "24/7",
        "notes": {
            "es": "llama al 024, gratis y a cualquier hora",
            "en": "call 024, free, 24/7",
        },
    }
    keys = {"name", "kind", "number", "text", "url", "hours", "notes"}
    assert all(line.as_json().keys() == keys for line in crisis_lines("AR"))


def test_lines_cannot_be_changed_by_a_caller_and_can_be_hashed() -> None:
    line = crisis_lines("ES")[0]
    with pytest.raises(TypeError):
        line.notes["es"] = "otra cosa"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.number = "000"  # type: ignore[misc]
    assert len({*crisis_lines("US"), *crisis_lines("PR")}) == 2
    # A dict given by a caller is copied: changing it later changes nothing.
    notes = {"en": "call 1"}
    built = CrisisLine(name="Test", kind="crisis", number="1", notes=notes)  # type: ignore[arg-type]
    notes["en"] = "changed"
    assert built.notes["en"] == "call 1"
    assert built.as_json()["notes"] == {"en": "call 1"}


@pytest.mark.parametrize(
    ("locale", "country"),
    [
        ("es-MX", "MX"),
        ("en-GB", "GB"),
        ("en_GB", "GB"),
        ("en_US", "US"),
        ("en_US.UTF-8", "US"),
        ("ca_ES@valencia", "ES"),
        ("EN-us", "US"),
        ("en-UK", "GB"),
        ("zh-Hant-TW", "TW"),
        ("zh-yue-HK", "HK"),
        ("es-ES-u-ca-gregory", "ES"),
        ("en-GB-oxendict", "GB"),
    ],
)
def test_a_locale_names_its_region(locale: str, country: str) -> None:
    assert locale_country(locale) == country


@pytest.mark.parametrize(
    "locale",
    [
        "es",
        "en",
        "es-419",  # Latin America: an area, not a country
        "en-XX",  # well formed, but no country has the code
        "x-private-GB",
        "i-klingon",
        "",
        "-",
        "es--MX",
        "es-MX-",
        "es MX",
        "español-MX",
        "garbage!!",
        "e" * 100 + "-MX",
        None,
        42,
    ],
)
def test_a_locale_that_names_no_country_gives_none_and_never_raises(locale: object) -> None:
    assert locale_country(locale) is None


def test_the_locale_wins_then_the_org_then_the_language() -> None:
    assert country_for("es-MX", "ES", "es") == "MX"
    assert country_for("en_GB", "US", "en") == "GB"
    # A locale with no country leaves it to the org, then to the language.
    assert country_for("es", "AR", "es") == "AR"
    assert country_for("es", None, "es") == "ES"
    assert country_for("en", None, "en") == "US"
    assert country_for(None, None, "es") == "ES"
    assert country_for(None, "mx", "en") == "MX"


def test_garbage_anywhere_is_passed_over() -> None:
    assert country_for("¿qué?", None, "es") == "ES"
    assert country_for("garbage", "Spain", "es") == "ES"
    assert country_for("en-ZZ", "XX", "en") == "US"
    assert country_for("es-419", "", "es") == "ES"


@pytest.mark.parametrize(
    ("value", "code"), [("ES", "ES"), ("mx", "MX"), ("Gb", "GB"), ("UK", "GB")]
)
def test_a_country_code_is_normalised(value: str, code: str) -> None:
    assert country_code(value) == code
    assert is_country_code(value)


@pytest.mark.parametrize(
    "value", ["XX", "ZZ", "EU", "E", "ESP", "Spain", "", " ES", "ÉS", None, 34]
)
def test_what_is_not_an_assigned_alpha_2_code_is_refused(value: object) -> None:
    assert country_code(value) is None
    assert not is_country_code(value)


def test_every_known_country_is_a_country_code() -> None:
    assert {"ES", "US", "MX", "GB"} <= KNOWN_COUNTRIES
    assert all(is_country_code(country) for country in KNOWN_COUNTRIES)
