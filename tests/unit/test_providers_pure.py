"""Provider-independent pieces: the catalog, costs, turn shaping, the offline
model, token estimates and Retry-After parsing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from parley.errors import ConfigurationError
from parley.providers.base import ChatMessage, Finish, GenerationRequest, TextDelta, Usage
from parley.providers.catalog import (
    DEFAULT_CATALOG,
    Capabilities,
    Catalog,
    ModelSpec,
    load_catalog,
)
from parley.providers.errors import retry_after_seconds
from parley.providers.keys import ApiKeys
from parley.providers.local import LocalProvider
from parley.providers.messages import CONTINUATION, alternating_turns
from parley.providers.tokens import estimate_tokens

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


def spec(name: str, **fields: object) -> ModelSpec:
    base: dict[str, object] = {
        "name": name,
        "provider": "openai",
        "model": name,
        "tier": "standard",
        "context_window": 8000,
        "input_price_per_mtok": 1.0,
        "output_price_per_mtok": 2.0,
    }
    return ModelSpec.model_validate({**base, **fields})


def test_the_shipped_catalog_loads_and_covers_every_provider() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)
    assert {s.provider for s in catalog.models} >= {"openai", "anthropic", "gemini", "local"}
    assert catalog.get(catalog.default_model) is not None


def test_the_shipped_models_declare_their_capabilities() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)
    for model in catalog.models:
        capabilities = model.capabilities
        if model.provider == "local":
            # The offline model answers text only: it claims nothing more.
            assert capabilities == Capabilities()
            continue
        assert capabilities.tools, model.name
        assert capabilities.json_schema, model.name
        assert {"image/png", "image/jpeg"} <= set(capabilities.vision), model.name
    # A model that says nothing claims nothing; vision takes image media types only.
    assert spec("plain").capabilities.as_json() == {
        "tools": False,
        "vision": [],
        "json_schema": False,
    }
    with pytest.raises(ValueError, match="image media types"):
        spec("odd", capabilities={"vision": ["application/pdf"]})


def test_cost_comes_from_the_catalog_prices() -> None:
    model = spec("m", input_price_per_mtok=3.0, output_price_per_mtok=15.0)
    assert model.cost_usd(Usage(1_000, 500)) == pytest.approx(0.003 + 0.0075)
    assert model.cost_usd(Usage(0, 0)) == 0


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("models: []\ndefault_model: x\n", "models"),
        (
            "default_model: nope\nmodels:\n"
            + "  - {name: a, provider: local, model: a, tier: light,"
            " context_window: 1, input_price_per_mtok: 0, output_price_per_mtok: 0}\n",
            "nope",
        ),
        (
            "default_model: a\nmodels:\n  - {name: a, provider: openai_compatible, model: a,"
            " tier: light, context_window: 1, input_price_per_mtok: 0, output_price_per_mtok: 0}\n",
            "base_url",
        ),
        (
            "default_model: a\nmodels:\n  - {name: a, provider: local, model: a, tier: light,"
            " context_window: 1, input_price_per_mtok: -1, output_price_per_mtok: 0}\n",
            "input_price",
        ),
        ("default_model: a\nmodels: [1, 2\n", "not valid YAML"),
    ],
)
def test_an_invalid_catalog_is_a_configuration_error_that_says_why(
    tmp_path: Path, yaml_text: str, problem: str
) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigurationError, match=problem):
        load_catalog(path)


def test_duplicate_model_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Catalog(default_model="a", models=(spec("a"), spec("a")))


def test_keys_come_from_the_variable_then_the_secret() -> None:
    class Secrets:
        def get(self, name: str) -> str | None:
            return {"anthropic_api_key": "from-secret"}.get(name)

    keys = ApiKeys(Secrets(), {"OPENAI_API_KEY": "from-env"})  # type: ignore[arg-type]
    assert keys.key_for(spec("o", api_key_env="OPENAI_API_KEY")) == "from-env"
    assert keys.key_for(spec("a", provider="anthropic")) == "from-secret"
    assert keys.key_for(spec("g", provider="gemini")) is None
    assert keys.key_for(spec("l", provider="local")) == ""
    keyless = spec("c", provider="openai_compatible", base_url="http://127.0.0.1:1/v1")
    assert keys.key_for(keyless) == ""  # a local server configured without a key variable


def test_turns_alternate_and_start_with_the_user() -> None:
    turns = alternating_turns(
        [
            ChatMessage("assistant", "earlier answer"),
            ChatMessage("user", "one"),
            ChatMessage("user", "two"),
            ChatMessage("system", "ignored here"),
            ChatMessage("assistant", ""),
            ChatMessage("assistant", "reply"),
        ]
    )
    assert [(t.role, t.content) for t in turns] == [
        ("user", CONTINUATION),
        ("assistant", "earlier answer"),
        ("user", "one\n\ntwo"),
        ("assistant", "reply"),
    ]


async def test_the_local_model_streams_a_deterministic_answer_quoting_the_question() -> None:
    request = GenerationRequest(messages=[ChatMessage("user", "What is DynamoDB?")])
    events = [e async for e in LocalProvider().stream(spec("l", provider="local"), request)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    again = [e async for e in LocalProvider().stream(spec("l", provider="local"), request)]
    assert text == "".join(e.text for e in again if isinstance(e, TextDelta))
    assert "What is DynamoDB?" in text
    assert "start of the conversation" in text
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.finish_reason == "stop"
    assert finish.usage.estimated is True
    assert finish.usage.output_tokens == estimate_tokens(text)


async def test_the_local_model_mentions_history_and_stops_at_the_budget() -> None:
    history = [ChatMessage("user", "hi"), ChatMessage("assistant", "hello")]
    request = GenerationRequest(messages=[*history, ChatMessage("user", "again")], max_tokens=5)
    events = [e async for e in LocalProvider().stream(spec("l", provider="local"), request)]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 5
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.finish_reason == "length"
    full = [
        e
        async for e in LocalProvider().stream(
            spec("l", provider="local"),
            GenerationRequest(messages=[*history, ChatMessage("user", "again")]),
        )
    ]
    assert "2 earlier messages" in "".join(e.text for e in full if isinstance(e, TextDelta))


def test_token_estimates_are_about_four_characters_each() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens(["ab", "cd", "e"]) == 2


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_milliseconds_and_dates(
    headers: dict[str, str] | None, expected: float | None
) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert retry_after_seconds(headers, now=now) == expected
