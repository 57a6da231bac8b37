"""Preference panels: the built-in schemas, org-defined panels, the order values are taken in
(user > learned > org > product default) and detecting a message's panel."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from parley.errors import ValidationFailed
from parley.orgs.settings import OrgSettings
from parley.panels import BUILTIN_DEFAULTS, BUILTIN_OPTIONS, PanelRegistry
from parley.preferences.detection import detect_panel
from parley.preferences.effective import explanation, preferences_document, smart_defaults
from parley.preferences.repository import LearnedValue, StoredPreferences

BUILTIN = PanelRegistry.builtin()
BRAND: dict[str, Any] = {
    "panels": {
        "brand": {
            "fields": {
                "voice": {"type": "string", "enum": ["bold", "calm"]},
                "exclamations": {"type": "integer", "minimum": 0, "maximum": 3},
                "warmth": {"type": "number", "minimum": 0, "maximum": 1},
                "emoji": {"type": "boolean"},
                "banned_words": {"type": "string_list", "max_length": 2},
            },
            "keywords": ["Brand voice", "tone of voice"],
        }
    },
    "defaults": {"brand": {"voice": "calm"}, "pictures": {"defaultStyle": "flat"}},
}


def org_with(preferences: dict[str, Any]) -> OrgSettings:
    return OrgSettings.model_validate({"preferences": preferences})


def rejected(registry: PanelRegistry, document: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as caught:
        registry.validate_document(document)
    assert caught.value.status == 422
    details: list[dict[str, Any]] = caught.value.details
    return details


def test_the_clients_document_validates_as_sent() -> None:
    document = {
        "preferences": BUILTIN_DEFAULTS,
        "tier": "demo",
        "favorite_panels": ["pictures", "content"],
    }
    assert BUILTIN.validate_document(document) == document


@pytest.mark.parametrize(
    ("document", "loc"),
    [
        ({"preferences": {"audio": {"x": 1}}}, ["preferences", "audio"]),
        ({"preferences": {"pictures": {"colour": "red"}}}, ["preferences", "pictures", "colour"]),
        (
            {"preferences": {"video": {"defaultDuration": "5"}}},
            ["preferences", "video", "defaultDuration"],
        ),
        (
            {"preferences": {"video": {"defaultDuration": 601}}},
            ["preferences", "video", "defaultDuration"],
        ),
        (
            {"preferences": {"video": {"defaultDuration": 0}}},
            ["preferences", "video", "defaultDuration"],
        ),
        (
            {"preferences": {"pictures": {"defaultStyle": "x" * 101}}},
            ["preferences", "pictures", "defaultStyle"],
        ),
        (
            {"preferences": {"content": {"defaultPlatforms": ["a"] * 21}}},
            ["preferences", "content", "defaultPlatforms"],
        ),
        (
            {"preferences": {"content": {"defaultTone": 7}}},
            ["preferences", "content", "defaultTone"],
        ),
        ({"favorite_panels": ["pictures", "audio"]}, ["favorite_panels", 1]),
        ({"favorite_panels": ["video"] * 11}, ["favorite_panels"]),
        ({"tier": "Gold Plus!"}, ["tier"]),
    ],
)
def test_invalid_values_are_refused_with_their_path(
    document: dict[str, Any], loc: list[Any]
) -> None:
    assert loc in [detail["loc"] for detail in rejected(BUILTIN, document)]


def test_a_panel_listed_twice_in_the_favourites_is_refused() -> None:
    details = rejected(BUILTIN, {"favorite_panels": ["video", "video"]})
    assert details[-1]["type"] == "unique"


def test_an_org_panel_validates_its_fields() -> None:
    registry = PanelRegistry.for_org(org_with(BRAND))
    assert registry.names() == ["content", "pictures", "video", "brand"]
    good = {
        "preferences": {"brand": {"voice": "bold", "exclamations": 2, "warmth": 0.5, "emoji": True}}
    }
    assert registry.validate_document(good) == good
    assert rejected(registry, {"preferences": {"brand": {"voice": "loud"}}})[0]["loc"] == [
        "preferences",
        "brand",
        "voice",
    ]
    assert rejected(registry, {"preferences": {"brand": {"exclamations": 4}}})
    assert rejected(registry, {"preferences": {"brand": {"banned_words": ["a", "b", "c"]}}})
    assert rejected(registry, {"preferences": {"brand": {"tagline": "x"}}})
    # Without the org's settings the panel does not exist.
    assert rejected(BUILTIN, good)[0]["loc"] == ["preferences", "brand"]


def test_the_built_in_schemas_declare_their_options() -> None:
    """The options are the models' own: their JSON Schema has them as an enum, and the
    registry's description (what GET /v1/preferences shows) says the same."""
    for panel, fields in BUILTIN_OPTIONS.items():
        schema = BUILTIN.models[panel].model_json_schema()["properties"]
        for name, options in fields.items():
            (declared,) = [v for v in schema[name]["anyOf"] if v.get("type") != "null"]
            enum = declared["items"]["enum"] if declared["type"] == "array" else declared["enum"]
            assert enum == list(options), (panel, name)
            assert BUILTIN.options(panel, name) == list(options)
    assert "Professional" in BUILTIN_OPTIONS["content"]["defaultTone"]
    assert "LinkedIn" in BUILTIN_OPTIONS["content"]["defaultPlatforms"]
    assert BUILTIN.options("video", "defaultDuration") is None  # a range, not a set
    # The product's defaults are among the options.
    for panel, values in BUILTIN_DEFAULTS.items():
        for name, value in values.items():
            assert BUILTIN.valid_value(f"{panel}.{name}", value) == (True, value)


@pytest.mark.parametrize(
    ("document", "loc"),
    [
        ({"preferences": {"content": {"defaultTone": "Grumpy"}}}, ["defaultTone"]),
        ({"preferences": {"content": {"defaultTone": "professional"}}}, ["defaultTone"]),
        (
            {"preferences": {"content": {"defaultPlatforms": ["X", "Myspace"]}}},
            ["defaultPlatforms", 1],
        ),
        ({"preferences": {"pictures": {"defaultStyle": "cubist"}}}, ["defaultStyle"]),
        ({"preferences": {"video": {"defaultProvider": "flux"}}}, ["defaultProvider"]),
    ],
)
def test_a_value_outside_a_fields_options_is_refused(
    document: dict[str, Any], loc: list[Any]
) -> None:
    (panel,) = document["preferences"]
    assert ["preferences", panel, *loc] in [d["loc"] for d in rejected(BUILTIN, document)]


def test_an_org_panels_options_are_in_its_schema_and_enforced() -> None:
    fields = {
        "voice": {"type": "string", "enum": ["bold", "calm"]},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "channels": {"type": "string_list", "enum": ["web", "print"], "max_length": 2},
        "tagline": {"type": "string", "max_length": 30},
    }
    registry = PanelRegistry.for_org(org_with({"panels": {"brand": {"fields": fields}}}))
    schema = registry.models["brand"].model_json_schema()["properties"]
    assert schema["voice"]["anyOf"][0]["enum"] == ["bold", "calm"]
    assert schema["channels"]["anyOf"][0]["items"]["enum"] == ["web", "print"]
    assert registry.descriptions["brand"]["fields"] == {
        "channels": {"type": "string_list", "options": ["web", "print"], "max_length": 2},
        "level": {
            "type": "integer",
            "options": [1, 2, 3],
            "minimum": -(2**53 - 1),
            "maximum": 2**53 - 1,
        },
        "tagline": {"type": "string", "max_length": 30},
        "voice": {"type": "string", "options": ["bold", "calm"]},
    }
    assert registry.valid_value("brand.channels", ["print", "web"]) == (True, ["print", "web"])
    assert registry.valid_value("brand.channels", ["web", "radio"])[0] is False
    assert registry.valid_value("brand.level", 4)[0] is False
    details = rejected(registry, {"preferences": {"brand": {"channels": ["web", "radio"]}}})
    assert details[0]["loc"] == ["preferences", "brand", "channels", 1]


def test_choice_problems_name_each_path_and_what_is_allowed() -> None:
    registry = PanelRegistry.for_org(org_with(BRAND))
    assert registry.choice_problems("pictures", {"defaultStyle": "ink"}) == []
    found = registry.choice_problems(
        "content",
        {"defaultTone": "Grumpy", "defaultPlatforms": ["X", "Myspace"], "mood": "sunny"},
        prefix=("body", "choices"),
    )
    by_loc = {tuple(problem["loc"]): problem for problem in found}
    assert set(by_loc) == {
        ("body", "choices", "defaultTone"),
        ("body", "choices", "defaultPlatforms", 1),
        ("body", "choices", "mood"),
    }
    tones = list(BUILTIN_OPTIONS["content"]["defaultTone"])
    assert by_loc["body", "choices", "defaultTone"]["allowed"] == tones
    platforms = list(BUILTIN_OPTIONS["content"]["defaultPlatforms"])
    assert by_loc["body", "choices", "defaultPlatforms", 1]["allowed"] == platforms
    unknown = by_loc["body", "choices", "mood"]
    assert (unknown["type"], unknown["allowed"]) == (
        "unknown_field",
        ["defaultTone", "defaultPersona", "defaultPlatforms"],
    )
    voice = registry.choice_problems("brand", {"voice": "loud", "exclamations": 9})
    assert voice[0]["allowed"] == ["bold", "calm"]
    assert "allowed" not in voice[1]  # a range, not a set


def test_org_panel_models_are_built_once_per_definition() -> None:
    assert PanelRegistry.for_org(org_with(BRAND)) is PanelRegistry.for_org(org_with(BRAND))
    changed = {**BRAND, "defaults": {}}
    assert PanelRegistry.for_org(org_with(changed)) is not PanelRegistry.for_org(org_with(BRAND))


@pytest.mark.parametrize(
    "preferences",
    [
        {"panels": {"pictures": {"fields": {"x": {"type": "string"}}}}},  # built-in
        {"panels": {"Brand Panel": {"fields": {"x": {"type": "string"}}}}},  # not a name
        {"panels": {"brand": {"fields": {}}}},  # no fields
        {"panels": {"brand": {"fields": {"x": {"type": "string", "minimum": 1}}}}},
        {"panels": {"brand": {"fields": {"x": {"type": "decimal"}}}}},
        {"defaults": {"pictures": {"defaultStyle": 5}}},
        {"defaults": {"audio": {"volume": 5}}},
        {"defaults": {"pictures": {"colour": "red"}}},
    ],
)
def test_invalid_org_panel_definitions_are_refused(preferences: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        org_with(preferences)


def learned(value: Any, confidence: float = 0.82) -> LearnedValue:
    return LearnedValue(value, confidence, 6, "2026-12-01T10:00:00.000Z")


def test_each_field_takes_user_then_learned_then_org_then_product_default() -> None:
    registry = PanelRegistry.for_org(org_with(BRAND))
    stored = StoredPreferences(
        "acme",
        "alice",
        explicit={"preferences": {"pictures": {"defaultStyle": "ink"}}},
        learned={
            "pictures.defaultStyle": learned("watercolor"),  # hidden by the user's value
            "pictures.defaultProvider": learned("dalle", 0.9),
            "brand.voice": learned("bold", 0.7),
        },
        version=4,
    )
    document = preferences_document(stored, registry)
    assert document["preferences"]["pictures"] == {
        "defaultStyle": "ink",
        "defaultProvider": "dalle",
    }
    assert document["preferences"]["brand"] == {"voice": "bold"}
    assert document["preferences"]["video"] == BUILTIN_DEFAULTS["video"]
    assert document["learned"] == {"pictures.defaultProvider": 0.9, "brand.voice": 0.7}
    assert document["sources"]["pictures.defaultStyle"] == "user"
    assert document["sources"]["video.defaultDuration"] == "default"
    assert (document["tier"], document["favorite_panels"], document["version"]) == ("demo", [], 4)

    without_learning = StoredPreferences("acme", "bob")
    values = preferences_document(without_learning, registry)["preferences"]
    assert values["pictures"]["defaultStyle"] == "flat"  # the org's default
    assert values["brand"] == {"voice": "calm"}


def test_a_value_the_panel_no_longer_accepts_is_skipped() -> None:
    stored = StoredPreferences(
        "acme",
        "alice",
        explicit={"preferences": {"video": {"defaultDuration": 9000}, "gone": {"x": 1}}},
        learned={"video.defaultDuration": learned(12)},
    )
    document = preferences_document(stored, BUILTIN)
    assert document["preferences"]["video"]["defaultDuration"] == 12
    assert "gone" not in document["preferences"]


def test_an_explanation_gives_each_options_support_as_the_fields_own_values() -> None:
    registry = PanelRegistry.for_org(org_with(BRAND))

    def support(path: str, labels: dict[str, float]) -> Any:
        value = LearnedValue("x", 0.8, 5, "", messages=5, support=labels)
        return explanation(path, "x", value, registry)["support"]

    assert support("brand.emoji", {"false": 1.0, "true": 3.5}) == [
        {"value": True, "weight": 3.5},
        {"value": False, "weight": 1.0},
    ]
    assert support("brand.warmth", {"0.25": 2.0, "0.5": 2.0, "7": 9.0, "{": 1.0}) == [
        {"value": 0.25, "weight": 2.0},  # equal weights: in a stable order
        {"value": 0.5, "weight": 2.0},
    ]  # 7 is out of range, "{" is not JSON: left out
    # A string field's options are their own keys, even one that looks like JSON.
    assert support("brand.voice", {"bold": 1.0, '"calm"': 2.0}) == [
        {"value": "bold", "weight": 1.0}
    ]
    assert support("brand.voice", {}) == []
    old = LearnedValue("bold", 0.7, 4, "2026-01-01T00:00:00.000Z")
    assert explanation("brand.voice", "bold", old, registry) == {
        "value": "bold",
        "confidence": 0.7,
        "messages": None,
        "support": None,
    }


def test_smart_defaults_leave_out_the_product_defaults() -> None:
    stored = StoredPreferences(
        "acme",
        "alice",
        explicit={"preferences": {"pictures": {"defaultStyle": "watercolor"}}},
        learned={"pictures.defaultProvider": learned("flux", 0.82)},
    )
    assert smart_defaults(stored, BUILTIN, "pictures") == {
        "defaultStyle": {"value": "watercolor", "source": "user"},
        "defaultProvider": {
            "value": "flux",
            "source": "learned",
            "confidence": 0.82,
            "messages": None,  # not recorded for this value
        },
    }
    counted = StoredPreferences(
        "acme",
        "alice",
        learned={
            "pictures.defaultStyle": LearnedValue(
                "anime", 0.86, 11, "2026-12-01T10:00:00.000Z", messages=12, support={"anime": 8}
            )
        },
    )
    assert smart_defaults(counted, BUILTIN, "pictures")["defaultStyle"] == {
        "value": "anime",
        "source": "learned",
        "confidence": 0.86,
        "messages": 12,
    }
    assert smart_defaults(StoredPreferences("acme", "bob"), BUILTIN, "pictures") == {}
    assert smart_defaults(stored, BUILTIN, None) == {}
    org = PanelRegistry.for_org(org_with(BRAND))
    assert smart_defaults(StoredPreferences("acme", "bob"), org, "pictures") == {
        "defaultStyle": {"value": "flat", "source": "org"}
    }


@pytest.mark.parametrize(
    ("message", "panel"),
    [
        ("make me a picture of a cat", "pictures"),
        ("Draw a LOGO for my bakery", "pictures"),
        ("Two photos of the beach, please", "pictures"),
        ("cut a 10 second reel from this", "video"),
        ("write an Instagram caption and a tweet", "content"),
        ("a blog post about a video launch", "content"),  # two content words beat one video
        ("what is the capital of France?", None),
        ("a pictorial history", None),  # whole words only
        ("", None),
    ],
)
def test_detection_from_the_message(message: str, panel: str | None) -> None:
    detection = detect_panel(message, None, BUILTIN)
    assert detection.panel == panel
    assert detection.detected_from == ("message" if panel else None)


def test_the_requested_panel_wins_and_org_keywords_detect_org_panels() -> None:
    registry = PanelRegistry.for_org(org_with(BRAND))
    assert detect_panel("make me a picture", "video", registry).panel == "video"
    assert detect_panel("make me a picture", "video", registry).detected_from == "request"
    # An unknown requested panel is ignored: the message decides.
    assert detect_panel("make me a picture", "audio", registry).panel == "pictures"
    assert detect_panel("Check the brand   voice of this", None, registry).panel == "brand"
    assert detect_panel("Check the brand voice of this", None, BUILTIN).panel is None
