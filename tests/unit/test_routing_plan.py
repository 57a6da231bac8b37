"""Routing a request: tiers by complexity, modes, the low-balance downgrade, long prompts,
named models, and the fallback chains each route tries."""

from __future__ import annotations

import pytest

from parley.errors import ValidationFailed
from parley.orgs.repository import effective_settings
from parley.orgs.settings import OrgSettings
from parley.providers.catalog import (
    DEFAULT_CATALOG,
    Catalog,
    CatalogRouting,
    ModelSpec,
    load_catalog,
)
from parley.providers.errors import ProviderNotConfigured
from parley.routing.analysis import Analysis, analyse
from parley.routing.chains import Chains, derived_order
from parley.routing.plan import RouteRequest, plan_route, tier_for


def spec(name: str, tier: str, price: float, **fields: object) -> ModelSpec:
    base: dict[str, object] = {
        "name": name,
        "provider": "openai",
        "model": name,
        "tier": tier,
        "context_window": 128_000,
        "input_price_per_mtok": price,
        "output_price_per_mtok": price * 4,
    }
    return ModelSpec.model_validate({**base, **fields})


MODELS = (
    spec("mini", "light", 0.4),
    spec("flash", "light", 0.3, provider="gemini"),
    spec("mid", "standard", 2.0),
    spec("sonnet", "standard", 3.0, provider="anthropic"),
    spec("big", "heavy", 15.0, provider="anthropic"),
    spec("huge-window", "heavy", 1.25, provider="gemini", context_window=1_000_000),
    spec("local", "light", 0.0, provider="local", context_window=32_000),
)
CATALOG = Catalog(default_model="mini", models=MODELS)


def analysis(complexity: float) -> Analysis:
    return Analysis(complexity=complexity, task_type="general_chat", signals=("test",))


def route(
    complexity: float = 0.1,
    *,
    mode: str = "auto",
    settings: OrgSettings | None = None,
    catalog: Catalog = CATALOG,
    available: object = None,
    **request: object,
):
    settings = settings or OrgSettings()
    is_available = available or (lambda s: True)
    chains = Chains(
        catalog,
        is_available,  # type: ignore[arg-type]
        {
            "light": settings.tiers.light.models,
            "standard": settings.tiers.standard.models,
            "heavy": settings.tiers.heavy.models,
            "long_context": settings.long_context.models,
            "cheap": settings.cheap_models,
            "smart": settings.smart_models,
        },
    )
    fields: dict[str, object] = {"prompt_tokens": 100, **request}
    return plan_route(
        RouteRequest(mode=mode, analysis=analysis(complexity), **fields),  # type: ignore[arg-type]
        catalog=catalog,
        chains=chains,
        settings=settings,
    )


@pytest.mark.parametrize(
    ("complexity", "tier"),
    [(0.0, "light"), (0.49, "light"), (0.5, "standard"), (0.75, "standard"), (0.76, "heavy")],
)
def test_tiers_split_at_half_and_three_quarters(complexity: float, tier: str) -> None:
    assert tier_for(complexity, OrgSettings()) == tier
    planned = route(complexity)
    assert (planned.tier, planned.name) == (tier, tier)
    assert planned.primary.tier == tier


def test_each_tier_has_its_output_budget_unless_the_request_sets_one() -> None:
    assert [route(c).max_tokens for c in (0.1, 0.6, 0.9)] == [800, 2000, 3000]
    assert route(0.9, max_tokens=50).max_tokens == 50


def test_an_org_moves_the_thresholds_and_budgets() -> None:
    settings = effective_settings(
        {
            "tiers": {
                "standard_from": 0.2,
                "heavy_above": 0.3,
                "light": {"max_tokens": 100},
                "heavy": {"max_tokens": 5000},
            }
        }
    )
    assert route(0.1, settings=settings).max_tokens == 100
    assert route(0.25, settings=settings).tier == "standard"
    assert (route(0.35, settings=settings).tier, route(0.35, settings=settings).max_tokens) == (
        "heavy",
        5000,
    )


def test_a_tier_falls_back_through_its_own_tier_then_the_one_above() -> None:
    names = [s.name for s in route(0.1).chain]
    # The catalog's default first among the light models, then by price; then standard.
    assert names[:4] == ["mini", "flash", "mid", "sonnet"]
    assert "local" not in names


def test_the_org_chain_wins_over_the_catalog_chain_which_wins_over_the_derived_one() -> None:
    routed = Catalog(
        default_model="mini", models=MODELS, routing=CatalogRouting(light=("flash", "sonnet"))
    )
    assert [s.name for s in route(0.1, catalog=routed).chain] == ["flash", "sonnet"]
    settings = effective_settings({"tiers": {"light": {"models": ["big", "mid"]}}})
    assert [s.name for s in route(0.1, catalog=routed, settings=settings).chain] == ["big", "mid"]


def test_models_without_a_key_leave_the_chain_and_an_empty_chain_falls_back_to_the_catalog() -> (
    None
):
    routed = Catalog(default_model="mini", models=MODELS, routing=CatalogRouting(light=("mini",)))
    only_anthropic = lambda s: s.provider in ("anthropic", "local")  # noqa: E731
    chain = route(0.1, catalog=routed, available=only_anthropic).chain
    assert [s.name for s in chain] == ["sonnet", "big"]


def test_the_offline_model_answers_only_when_nothing_else_can() -> None:
    keyless = lambda s: s.provider == "local"  # noqa: E731
    assert [s.name for s in route(0.9, available=keyless).chain] == ["local"]
    with pytest.raises(ProviderNotConfigured):
        route(0.1, catalog=Catalog(default_model="mini", models=MODELS[:2]), available=keyless)


def test_modes_take_the_cheap_and_the_smart_chains() -> None:
    cheap = route(0.9, mode="cheap")
    assert [s.name for s in cheap.chain][:2] == ["flash", "mini"]
    assert (cheap.name, cheap.max_tokens) == ("cheap", 800)
    smart = route(0.0, mode="smart")
    assert smart.primary.name == "big"
    assert (smart.name, smart.max_tokens, smart.tier) == ("smart", 3000, "heavy")


def test_auto_drops_to_the_cheap_chain_while_the_balance_is_below_the_threshold() -> None:
    low = route(0.9, balance_tokens=199)
    assert (low.name, low.mode, low.primary.name) == ("cheap", "auto", "flash")
    assert "balance 199 tokens is below 200" in low.reason
    assert route(0.9, balance_tokens=200).name == "heavy"
    assert route(0.9, balance_tokens=None).name == "heavy"  # unmetered
    assert route(0.9, mode="smart", balance_tokens=0).name == "smart"  # only auto downgrades
    settings = OrgSettings(low_balance_tokens=1000)
    assert route(0.9, balance_tokens=500, settings=settings).name == "cheap"


def test_a_long_prompt_goes_to_the_long_context_chain_in_any_mode() -> None:
    for mode in ("auto", "cheap", "smart"):
        planned = route(0.1, mode=mode, prompt_tokens=150_000)
        assert planned.name == "long_context"
        assert [s.name for s in planned.chain] == ["huge-window"]
        assert "above 100000" in planned.reason


def test_no_model_fits_a_prompt_larger_than_every_window() -> None:
    with pytest.raises(ValidationFailed, match="largest context window") as raised:
        route(0.1, prompt_tokens=2_000_000)
    assert raised.value.code == "context_too_long"


def test_a_named_model_comes_first_then_its_tiers_chain_unless_the_org_says_no() -> None:
    named = route(0.9, model="sonnet")
    assert named.name == "named"
    assert [s.name for s in named.chain][:2] == ["sonnet", "mid"]
    assert named.max_tokens == 2000  # its tier's budget
    settings = effective_settings({"failover": {"named_models": False}})
    assert [s.name for s in route(0.9, model="sonnet", settings=settings).chain] == ["sonnet"]


def test_a_named_model_unknown_unconfigured_or_too_small_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="/v1/models"):
        route(model="nope")
    with pytest.raises(ProviderNotConfigured):
        route(model="big", available=lambda s: s.name != "big")
    with pytest.raises(ValidationFailed, match="context window"):
        route(model="mini", prompt_tokens=127_500)


def test_the_reason_explains_the_route_with_the_analysis() -> None:
    planned = plan_route(
        RouteRequest(
            mode="auto",
            analysis=analyse("Why does this fail?\n```python\nprint(1/0)\n```"),
            prompt_tokens=30,
        ),
        catalog=CATALOG,
        chains=Chains(CATALOG, lambda s: True, {}),
        settings=OrgSettings(),
    )
    assert planned.reason.startswith(f"auto mode: {planned.tier} tier for complexity ")
    assert "task coding" in planned.reason


def test_derived_orders_for_cheap_and_smart() -> None:
    assert [s.name for s in derived_order(MODELS, "cheap")][:3] == ["flash", "mini", "huge-window"]
    assert [s.name for s in derived_order(MODELS, "smart")][:2] == ["big", "huge-window"]


def test_the_shipped_catalog_routes_every_route_to_its_own_models() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)
    chains = Chains(catalog, lambda s: True, {})
    for name in ("light", "standard", "heavy", "long_context", "cheap", "smart"):
        chain = chains.for_route(name)
        assert chain, name
        assert "local" not in [s.name for s in chain]
    assert chains.for_route("light")[0].name == "gpt-4.1-mini"


def test_a_catalog_routing_unknown_models_is_refused() -> None:
    with pytest.raises(ValueError, match="not in the catalog"):
        Catalog(default_model="mini", models=MODELS, routing=CatalogRouting(cheap=("nope",)))
