"""The crisis guard without a network: which classifier model an org gets, what a verdict
makes the chat do, the fail-safe when the model gives no verdict, and how a model's answer is
read (``parley.guardrails.model_classifier``'s parsing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from parley.guardrails.guard import CrisisGuard
from parley.guardrails.model_classifier import ClassifierFailed, ModelJudgement, _parse
from parley.guardrails.prefilter import screen
from parley.guardrails.verdict import Verdict
from parley.orgs.settings import GuardrailSettings
from parley.providers.catalog import Catalog, ModelSpec
from parley.providers.keys import ApiKeys
from parley.providers.registry import ProviderRegistry

if TYPE_CHECKING:
    from parley.guardrails.verdict import Category

pytestmark = pytest.mark.anyio


def spec(name: str, provider: str, price: float, key: str = "KEY") -> dict[str, Any]:
    return {
        "name": name,
        "provider": provider,
        "model": name,
        "api_key_env": key,
        "tier": "light",
        "context_window": 8000,
        "input_price_per_mtok": price,
        "output_price_per_mtok": price * 4,
    }


CATALOG = Catalog.model_validate(
    {
        "default_model": "big",
        "models": [
            spec("big", "openai", 5.0),
            spec("small", "anthropic", 0.8),
            spec("tiny-no-key", "gemini", 0.1, key="MISSING"),
            {**spec("local", "local", 0.0), "api_key_env": None},
        ],
    }
)
REGISTRY = ProviderRegistry(ApiKeys(environ={"KEY": "k"}))


class ScriptedClassifier:
    """A ModelClassifier that answers with a verdict or fails, and counts its calls."""

    def __init__(self, answer: Verdict | ClassifierFailed) -> None:
        self.answer = answer
        self.calls: list[str] = []

    async def classify(self, text: str, spec: ModelSpec, *, timeout: float) -> ModelJudgement:
        self.calls.append(spec.name)
        if isinstance(self.answer, ClassifierFailed):
            raise self.answer
        return ModelJudgement(self.answer, spec.name, 12.0, None)


def model_verdict(is_crisis: bool, confidence: float, category: Category) -> Verdict:
    return Verdict(is_crisis, confidence, category, "scripted", "model")


def guard(answer: Verdict | ClassifierFailed) -> tuple[CrisisGuard, ScriptedClassifier]:
    classifier = ScriptedClassifier(answer)
    return CrisisGuard(CATALOG, REGISTRY, classifier), classifier  # type: ignore[arg-type]


def test_the_default_classifier_is_the_cheapest_configured_model_never_local() -> None:
    found = CrisisGuard(CATALOG, REGISTRY).classifier_for(GuardrailSettings())
    assert found is not None
    assert found.name == "small"  # tiny-no-key has no key; local cannot judge


def test_the_orgs_classifier_model_wins_when_it_is_configured() -> None:
    chosen = CrisisGuard(CATALOG, REGISTRY).classifier_for(
        GuardrailSettings(classifier_model="big")
    )
    assert chosen is not None
    assert chosen.name == "big"
    unconfigured = GuardrailSettings(classifier_model="tiny-no-key")
    fallback = CrisisGuard(CATALOG, REGISTRY).classifier_for(unconfigured)
    assert fallback is not None
    assert fallback.name == "small"


def test_with_only_the_local_model_there_is_no_classifier() -> None:
    keyless = ProviderRegistry(ApiKeys(environ={}))
    assert CrisisGuard(CATALOG, keyless).classifier_for(GuardrailSettings()) is None


MESSAGE = "ya no quiero seguir viviendo"


@pytest.mark.parametrize(
    ("verdict", "threshold", "action"),
    [
        (model_verdict(True, 0.93, "suicide"), 0.7, "safe_reply"),
        (model_verdict(True, 0.7, "suicide"), 0.7, "none"),  # not above the threshold
        (model_verdict(True, 0.75, "self_harm"), 0.7, "safe_reply"),
        (model_verdict(False, 0.9, "none"), 0.7, "none"),
        (model_verdict(False, 0.8, "third_party"), 0.7, "resources"),
        (model_verdict(True, 0.75, "suicide"), 0.8, "none"),
    ],
)
async def test_a_model_verdict_decides_by_its_threshold(
    verdict: Verdict, threshold: float, action: str
) -> None:
    crisis_guard, classifier = guard(verdict)
    settings = GuardrailSettings(crisis_threshold=threshold)
    decision = await crisis_guard.decide(MESSAGE, screen(MESSAGE), settings)
    assert decision.action == action
    assert decision.verdict.stage == "model"
    assert decision.fail_safe is None
    assert classifier.calls == ["small"]


@pytest.mark.parametrize("reason", ["timeout", "error", "malformed"])
async def test_a_model_without_a_verdict_leaves_the_offline_classifier_to_decide(
    reason: str,
) -> None:
    crisis_guard, _ = guard(ClassifierFailed(reason))  # type: ignore[arg-type]
    decision = await crisis_guard.decide(MESSAGE, screen(MESSAGE), GuardrailSettings())
    assert decision.crisis  # never dropped for lack of a model
    assert decision.verdict.stage == "offline"
    assert (decision.fail_safe, decision.model, decision.judgement) == (reason, "small", None)


async def test_no_model_at_all_is_the_offline_path_not_a_failure() -> None:
    keyless = ProviderRegistry(ApiKeys(environ={}))
    decision = await CrisisGuard(CATALOG, keyless).decide(
        MESSAGE, screen(MESSAGE), GuardrailSettings()
    )
    assert decision.crisis
    assert (decision.fail_safe, decision.model) == ("no_model", None)


# Reading the model's answer --------------------------------------------------------------------


def test_the_json_object_is_read_even_inside_a_code_fence() -> None:
    answer = '```json\n{"is_crisis": true, "confidence": 0.9, "category": "suicide",' + (
        ' "reason": "farewell"}\n```'
    )
    parsed = _parse(answer)
    assert (parsed.is_crisis, parsed.confidence, parsed.category) == (True, 0.9, "suicide")


@pytest.mark.parametrize(
    "answer",
    [
        "The user seems fine.",
        '{"is_crisis": true}',
        '{"is_crisis": true, "confidence": 1.5, "category": "suicide"}',
        '{"is_crisis": true, "confidence": 0.9, "category": "sadness"}',
        '{"is_crisis": "yes please", "confidence": 0.9, "category": "suicide"}',
        '{"is_crisis": true, "confidence": NaN, "category": "suicide"}',
        "{not json}",
    ],
)
def test_anything_but_the_object_asked_for_is_malformed(answer: str) -> None:
    with pytest.raises(ClassifierFailed) as failed:
        _parse(answer)
    assert failed.value.reason == "malformed"
