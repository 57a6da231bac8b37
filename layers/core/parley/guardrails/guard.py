"""The crisis guard: the two stages put together, and what a verdict makes the chat do.

``screen`` is stage 1 (``prefilter``), microseconds, on every message. ``decide`` runs on the
messages it flagged: the org's classifier model within its time budget, and the offline
classifier when there is no such model, or it failed, or it was late (the fail-safe: a
crisis verdict is never dropped for lack of a model). ``decide`` never raises.

Actions: ``safe_reply`` (a crisis: the safe-messaging reply replaces the answer),
``resources`` (someone else at risk: the ordinary answer, plus resources for helping them),
``none``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from parley.guardrails.model_classifier import ClassifierFailed, ModelClassifier, ModelJudgement
from parley.guardrails.offline import classify_offline
from parley.guardrails.prefilter import screen

if TYPE_CHECKING:
    from parley.guardrails.verdict import Screening, Verdict
    from parley.orgs.settings import GuardrailSettings
    from parley.providers.catalog import Catalog, ModelSpec
    from parley.providers.registry import ProviderRegistry

__all__ = ["Action", "CrisisGuard", "Decision", "SafetyPlan"]

Action = Literal["safe_reply", "resources", "none"]
# Why the offline classifier decided a flagged message: no model, or how the model failed.
FailSafe = Literal["no_model", "timeout", "error", "malformed"]


@dataclass(frozen=True)
class SafetyPlan:
    """What a chat knows before it runs: stage 1's answer, and whether the conversation's
    turns still go to the model with the safety system prompt (a cool-down)."""

    screening: Screening
    cooldown: bool


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    action: Action
    screening: Screening
    latency_ms: float  # from the start of ``decide`` to its verdict
    judgement: ModelJudgement | None = None  # the classifier model's answer, when it gave one
    model: str | None = None  # the classifier model asked, whether it answered or not
    fail_safe: FailSafe | None = None  # set when the offline classifier decided

    @property
    def crisis(self) -> bool:
        return self.action == "safe_reply"


class CrisisGuard:
    def __init__(
        self,
        catalog: Catalog,
        registry: ProviderRegistry,
        classifier: ModelClassifier | None = None,
    ) -> None:
        self._catalog = catalog
        self._registry = registry
        self._classifier = classifier or ModelClassifier(registry)

    def screen(self, text: str) -> Screening:
        return screen(text)

    def classifier_for(self, settings: GuardrailSettings) -> ModelSpec | None:
        """The org's classifier model if it is configured, else the cheapest configured
        model; None when only the offline ``local`` model is (it cannot judge)."""
        usable = [
            spec
            for spec in self._catalog.models
            if spec.provider != "local" and self._registry.is_available(spec)
        ]
        if settings.classifier_model is not None:
            named = [spec for spec in usable if spec.name == settings.classifier_model]
            if named:
                return named[0]
        if not usable:
            return None
        return min(usable, key=lambda s: (s.input_price_per_mtok + s.output_price_per_mtok, s.name))

    async def decide(
        self, text: str, screening: Screening, settings: GuardrailSettings
    ) -> Decision:
        started = time.perf_counter()
        spec = self.classifier_for(settings)
        fail_safe: FailSafe = "no_model"
        if spec is not None:
            try:
                judgement = await self._classifier.classify(
                    text, spec, timeout=settings.classifier_timeout_seconds
                )
            except ClassifierFailed as exc:
                fail_safe = exc.reason
            else:
                verdict = judgement.verdict
                crisis = verdict.is_crisis and verdict.confidence > settings.crisis_threshold
                return Decision(
                    verdict=verdict,
                    action=_action(crisis, verdict),
                    screening=screening,
                    latency_ms=_since(started),
                    judgement=judgement,
                    model=spec.name,
                )
        verdict = classify_offline(text, screening)
        return Decision(
            verdict=verdict,
            action=_action(verdict.is_crisis, verdict),
            screening=screening,
            latency_ms=_since(started),
            model=None if spec is None else spec.name,
            fail_safe=fail_safe,
        )


def _action(crisis: bool, verdict: Verdict) -> Action:
    if crisis:
        return "safe_reply"
    return "resources" if verdict.category == "third_party" else "none"


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
