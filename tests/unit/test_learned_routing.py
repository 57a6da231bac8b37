"""Learned routing: the advice reorders an ``auto`` request's tier chain for its task type,
only among the chain's own models, with an exploration share; and the org setting that turns
it on."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from parley.analytics.advice import Advice, AdviceCache
from parley.orgs.repository import effective_settings
from parley.orgs.settings import LearnedRoutingSettings, OrgSettings
from parley.providers.catalog import Catalog, ModelSpec
from parley.routing.analysis import Analysis
from parley.routing.chains import Chains, org_chains
from parley.routing.learned import LearnedRouting, reorder
from parley.routing.plan import Route, RouteRequest, plan_route
from tests.conftest import REPO


def spec(name: str, provider: str = "openai", tier: str = "light") -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": name,
            "provider": provider,
            "model": name,
            "tier": tier,
            "context_window": 128_000,
            "input_price_per_mtok": 1.0,
            "output_price_per_mtok": 4.0,
        }
    )


MINI, HAIKU, FLASH = spec("mini"), spec("haiku", "anthropic"), spec("flash", "gemini")
BIG = spec("big", "anthropic", tier="heavy")
CHAIN = (MINI, HAIKU, FLASH)
NO_EXPLORING = LearnedRoutingSettings(enabled=True, exploration=0)


def entry(model: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "score": 80.0, "samples": 50, "confidence": 70.0, **fields}


def advice(**task_types: list[dict[str, Any]]) -> Advice:
    return Advice.model_validate(
        {"computed_at": "2026-12-01T10:00:00Z", "window_days": 30, "task_types": task_types}
    )


def names(chain: tuple[ModelSpec, ...] | list[ModelSpec]) -> list[str]:
    return [s.name for s in chain]


# reorder -----------------------------------------------------------------------------------


def test_the_advised_models_go_first_in_the_advices_order_and_the_rest_keep_theirs() -> None:
    # GIVEN advice for coding that ranks flash, then haiku; mini has none
    ranked = advice(
        coding=[
            entry("flash", provider="gemini", score=87.2, samples=120, confidence=80.0),
            entry("haiku", score=70.0),
        ]
    )
    result = reorder(CHAIN, "coding", ranked, NO_EXPLORING, random.Random(1))
    assert names(result.chain) == ["flash", "haiku", "mini"]
    assert result.reason == (
        "learned routing: flash first for coding (score 87.2, 120 samples, confidence 80)"
    )
    assert not result.explored
    # models without advice keep their relative order after the advised ones
    four = (*CHAIN, spec("nano"))
    result = reorder(four, "coding", advice(coding=[entry("haiku")]), NO_EXPLORING, random.Random())
    assert names(result.chain) == ["haiku", "mini", "flash", "nano"]


def test_advice_never_adds_a_model_the_chain_does_not_have() -> None:
    ranked = advice(coding=[entry("big"), entry("gone-from-catalog"), entry("haiku")])
    result = reorder(CHAIN, "coding", ranked, NO_EXPLORING, random.Random(1))
    assert names(result.chain) == ["haiku", "mini", "flash"]
    assert result.reason.startswith("learned routing: haiku first for coding")


def test_advice_is_passed_over_for_another_provider_few_samples_or_low_confidence() -> None:
    settings = LearnedRoutingSettings(enabled=True, exploration=0, min_confidence=60)
    ranked = advice(
        coding=[
            entry("mini", provider="anthropic"),  # another model under the same name
            entry("flash", samples=4),  # fewer than the recommender's minimum
            entry("haiku", confidence=59.9),  # below the org's minimum
            entry("flash", provider="gemini", confidence=60),
            entry("flash", score=1.0),  # named twice: the first counts
        ]
    )
    result = reorder(CHAIN, "coding", ranked, settings, random.Random(1))
    assert names(result.chain) == ["flash", "mini", "haiku"]
    assert "(score 80, 50 samples, confidence 60)" in result.reason


@pytest.mark.parametrize(
    ("held", "task", "why"),
    [
        (None, "coding", "no advice for this org yet"),
        (advice(analysis=[{"model": "mini", "score": 1, "samples": 9, "confidence": 9}]),
         "coding", "no advice for coding yet"),
        (advice(coding=[entry("big")]), "coding",
         "no advice for coding names a model of this chain"),
        (advice(coding=[entry("haiku", confidence=10)]), "coding",
         "the advice for coding is below confidence 50"),
    ],
)  # fmt: skip
def test_without_advice_to_follow_the_rules_chain_is_kept_and_the_reason_says_why(
    held: Advice | None, task: str, why: str
) -> None:
    settings = LearnedRoutingSettings(enabled=True, exploration=0.5, min_confidence=50)
    rng = random.Random(7)
    for _ in range(50):  # and it never explores without advice
        result = reorder(CHAIN, task, held, settings, rng)
        assert result.chain == CHAIN
        assert result.reason == f"learned routing: rules chain kept ({why})"


def test_the_same_seed_gives_the_same_choices() -> None:
    ranked = advice(coding=[entry("haiku")])
    settings = LearnedRoutingSettings(enabled=True, exploration=0.3)

    def draws(seed: int) -> list[list[str]]:
        rng = random.Random(seed)
        return [names(reorder(CHAIN, "coding", ranked, settings, rng).chain) for _ in range(200)]

    assert draws(42) == draws(42)
    assert draws(42) != draws(43)


@pytest.mark.parametrize("exploration", [0.05, 0.2, 0.5])
def test_the_exploration_share_is_the_settings_and_spread_evenly_over_the_other_models(
    exploration: float,
) -> None:
    # GIVEN advice ranking haiku first, and many requests
    ranked = advice(coding=[entry("haiku"), entry("mini")])
    settings = LearnedRoutingSettings(enabled=True, exploration=exploration)
    rng = random.Random(2026)
    draws = 40_000
    results = [reorder(CHAIN, "coding", ranked, settings, rng) for _ in range(draws)]
    firsts = Counter(result.chain[0].name for result in results)
    explored = [result for result in results if result.explored]
    # THEN about ``exploration`` of them explore (within 4 standard deviations)...
    tolerance = 4 * (exploration * (1 - exploration) / draws) ** 0.5
    assert abs(len(explored) / draws - exploration) < tolerance
    # ...each time with another model first, chosen uniformly, and the chain otherwise whole
    assert {result.chain[0].name for result in explored} == {"mini", "flash"}
    assert firsts["haiku"] == draws - len(explored)
    share = firsts["flash"] / len(explored)
    assert abs(share - 0.5) < 4 * (0.25 / len(explored)) ** 0.5
    for result in explored[:50]:
        rest = [name for name in ["haiku", "mini", "flash"] if name != result.chain[0].name]
        assert names(result.chain) == [result.chain[0].name, *rest]
    assert explored[0].reason == (
        f"learned routing: exploring {explored[0].chain[0].name} for coding "
        f"({exploration * 100:g}% of requests)"
    )
    # AND never a model outside the chain, never one twice
    assert all(sorted(names(result.chain)) == ["flash", "haiku", "mini"] for result in results)


def test_a_chain_of_one_never_explores() -> None:
    settings = LearnedRoutingSettings(enabled=True, exploration=0.5)
    rng = random.Random(3)
    for _ in range(100):
        result = reorder((MINI,), "coding", advice(coding=[entry("mini")]), settings, rng)
        assert (names(result.chain), result.explored) == (["mini"], False)


def test_the_exploration_reason_reads_as_a_percentage() -> None:
    settings = LearnedRoutingSettings(enabled=True, exploration=0.07)

    class Always(random.Random):
        def random(self) -> float:
            return 0.0

    result = reorder(CHAIN, "coding", advice(coding=[entry("mini")]), settings, Always(1))
    assert result.explored
    assert result.reason.endswith("for coding (7% of requests)")


# which routes it reorders ------------------------------------------------------------------

CATALOG = Catalog(default_model="mini", models=(MINI, HAIKU, FLASH, BIG))


class HeldAdvice(AdviceCache):
    """An advice cache holding one document for every org, never reading."""

    def __init__(self, held: Advice | None) -> None:
        super().__init__(source=None)  # type: ignore[arg-type]
        self._held = held

    def is_fresh(self, org_id: str) -> bool:
        return True

    def held(self, org_id: str) -> Advice | None:
        return self._held


def planned(settings: OrgSettings, **request: Any) -> Route:
    chains = Chains(CATALOG, lambda s: True, org_chains(settings))
    analysis = Analysis(complexity=0.1, task_type="coding", signals=("test",))
    fields: dict[str, Any] = {"mode": "auto", "prompt_tokens": 100, **request}
    return plan_route(
        RouteRequest(analysis=analysis, **fields), catalog=CATALOG, chains=chains, settings=settings
    )


ON = effective_settings(
    {
        "learned_routing": {"enabled": True, "exploration": 0},
        "tiers": {"light": {"models": ["mini", "haiku", "flash"]}},
        "cheap_models": ["mini", "haiku"],
        "smart_models": ["mini", "big"],
        "long_context": {"models": ["mini", "haiku"], "threshold_tokens": 1000},
    }
)
PREFER = advice(coding=[entry("haiku"), entry("big")])


def test_an_auto_request_routed_to_a_tier_is_reordered_and_its_reason_says_so() -> None:
    learned = LearnedRouting(HeldAdvice(PREFER), rng=random.Random(1))
    rules = planned(ON)
    route = learned.apply(rules, org_id="acme", org=ON)
    assert names(route.chain) == ["haiku", "mini", "flash"]
    assert route.reason == (
        "learned routing: haiku first for coding (score 80, 50 samples, confidence 70); "
        f"{rules.reason}"
    )
    assert (route.name, route.tier, route.max_tokens) == (rules.name, rules.tier, rules.max_tokens)


@pytest.mark.parametrize(
    "request_fields",
    [
        {"model": "mini"},  # named: the client chose it
        {"mode": "cheap"},  # a policy the caller chose
        {"mode": "smart"},
        {"balance_tokens": 10},  # auto with a low balance: the cheap chain
        {"prompt_tokens": 5000},  # long context
    ],
)
def test_named_models_cheap_smart_and_long_context_routes_are_left_alone(
    request_fields: dict[str, Any],
) -> None:
    learned = LearnedRouting(HeldAdvice(PREFER), rng=random.Random(1))
    rules = planned(ON, **request_fields)
    assert learned.apply(rules, org_id="acme", org=ON) is rules


def test_with_the_setting_off_nothing_changes_and_nothing_is_read() -> None:
    off = ON.model_copy(update={"learned_routing": LearnedRoutingSettings()})
    learned = LearnedRouting(AdviceCache(source=None), rng=random.Random(1))  # type: ignore[arg-type]
    rules = planned(off)
    assert learned.apply(rules, org_id="acme", org=off) is rules
    assert learned.refresh("acme", off) is None


# the setting -------------------------------------------------------------------------------


def test_the_setting_is_off_by_default_with_a_small_exploration_share() -> None:
    assert OrgSettings().learned_routing == LearnedRoutingSettings(
        enabled=False, exploration=0.05, min_confidence=0
    )


@pytest.mark.parametrize(
    "value",
    [
        {"exploration": 0.51},
        {"exploration": -0.01},
        {"min_confidence": 101},
        {"min_confidence": -1},
        {"exploration": float("nan")},
        {"enabled": "perhaps"},
        {"explore": 0.1},  # unknown fields are refused, as everywhere in the settings
    ],
)
def test_the_setting_is_bounded_and_refuses_unknown_fields(value: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OrgSettings.model_validate({"learned_routing": value})


def test_the_readme_documents_every_field_of_the_setting() -> None:
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `learned_routing\.([a-z_]+)` \|", readme, re.MULTILINE))
    assert documented == set(LearnedRoutingSettings.model_fields)
