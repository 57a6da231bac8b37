"""What one org can tune: routing tiers and modes, learned routing, budgets, rate limits, the
response cache, the crisis guardrail and the regression alerts' thresholds.

Every field has the documented default, so an org that never saved settings gets exactly those;
a saved document holds only what the org changed and is validated with this model on write and
on read. Model names are checked against the deployment's catalog when settings are saved
(``OrgSettings.unknown_models``), not here: the catalog is the deployment's, these are data.
A stored document is partial; it is deep-merged onto the defaults before validation, so an org
may change one tier's models without restating its token budget.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.bounds import MAX_SAFE_INTEGER
from parley.panels.settings import PreferencesSettings

__all__ = [
    "AlertSettings",
    "CacheSettings",
    "FailoverSettings",
    "GuardrailSettings",
    "LearnedRoutingSettings",
    "LongContextSettings",
    "Mode",
    "OrgSettings",
    "RateLimitSettings",
    "TierSettings",
    "TiersSettings",
]

Mode = Literal["auto", "cheap", "smart"]
_MODEL_NAME = r"^[A-Za-z0-9._:/-]+$"
# Context windows today end near ten million tokens.
_MAX_PROMPT_TOKENS = 10_000_000
# Requests a minute: far beyond any org's need, far below what a counter holds.
_MAX_PER_MINUTE = 1_000_000
# Dollars one user may spend in a day: a cap above this is no cap anyone means.
_MAX_DAILY_SPEND_USD = 1_000_000
# An org's own safe reply: a few paragraphs, not a document (the crisis lines come on top).
_MAX_SAFE_REPLY_CHARS = 4000


def _check_names(names: tuple[str, ...]) -> None:
    bad = [name for name in names if not re.fullmatch(_MODEL_NAME, name)]
    if bad:
        raise ValueError(f"not model names: {bad}")
    if len(set(names)) != len(names):
        raise ValueError("a model may be listed only once")


class _Strict(BaseModel):
    # Unknown fields are refused: a typo in a setting must be an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TierSettings(_Strict):
    """One tier: the models to try, in order (empty: the catalog's chain for the tier), and the
    most output tokens a request routed here may produce."""

    models: tuple[str, ...] = Field(default=(), max_length=10)
    max_tokens: int = Field(gt=0, le=100_000)

    @model_validator(mode="after")
    def _model_names(self) -> TierSettings:
        _check_names(self.models)
        return self


class TiersSettings(_Strict):
    """Complexity in [0, 1] picks the tier: light below ``standard_from``, standard from it,
    heavy above ``heavy_above``."""

    standard_from: float = Field(default=0.5, ge=0, le=1)
    heavy_above: float = Field(default=0.75, ge=0, le=1)
    light: TierSettings = TierSettings(max_tokens=800)
    standard: TierSettings = TierSettings(max_tokens=2000)
    heavy: TierSettings = TierSettings(max_tokens=3000)

    @model_validator(mode="after")
    def _ordered(self) -> TiersSettings:
        if self.heavy_above < self.standard_from:
            raise ValueError("heavy_above must be at least standard_from")
        return self


class LongContextSettings(_Strict):
    """Prompts (system, history, message and attachments) estimated above ``threshold_tokens``
    go to these models (empty: the catalog's long-context chain)."""

    threshold_tokens: int = Field(default=100_000, gt=0, le=_MAX_PROMPT_TOKENS)
    models: tuple[str, ...] = Field(default=(), max_length=10)
    max_tokens: int = Field(default=3000, gt=0, le=100_000)

    @model_validator(mode="after")
    def _model_names(self) -> LongContextSettings:
        _check_names(self.models)
        return self


class RateLimitSettings(_Strict):
    """Requests a minute, counted across every Lambda environment. 0 turns a limit off (not
    null, which in a settings patch means "back to the default")."""

    user_per_minute: int = Field(default=20, ge=0, le=_MAX_PER_MINUTE)
    org_per_minute: int = Field(default=0, ge=0, le=_MAX_PER_MINUTE)


class CacheSettings(_Strict):
    """The exact-match response cache, for deterministic requests (temperature 0) and those
    marked cacheable."""

    enabled: bool = True
    ttl_seconds: int = Field(default=7 * 86_400, gt=0, le=30 * 86_400)


class FailoverSettings(_Strict):
    """Whether a request that named a model may be answered by another when that one fails.
    Requests routed by mode always fail over along their chain."""

    named_models: bool = True


class LearnedRoutingSettings(_Strict):
    """Whether the recommender's advice (``parley.analytics.advice``) may reorder an ``auto``
    request's tier chain for its task type (``parley.routing.learned``). ``exploration``: the
    share of those requests that put another model of the chain first instead, so every model
    keeps getting samples. ``min_confidence``: advice below it (0-100) is not followed."""

    enabled: bool = False
    exploration: float = Field(default=0.05, ge=0, le=0.5)
    min_confidence: float = Field(default=0, ge=0, le=100)


class GuardrailSettings(_Strict):
    """The crisis guardrail (``parley.guardrails``). ``classifier_model``: the catalog model
    that judges the messages the prefilter flags (None: the cheapest one configured; the
    offline classifier when there is none). A crisis is declared when the model says so with
    a confidence above ``crisis_threshold``; it has ``classifier_timeout_seconds`` to answer
    before the offline classifier decides. ``country``: ISO 3166-1 alpha-2 code whose crisis
    lines the safe reply gives when the request's ``locale`` names none (None: by language,
    Spain for Spanish and the United States for English). After a crisis verdict the
    conversation's next turns go to the model with a safety system prompt for
    ``cooldown_minutes``. ``safe_replies``: the org's own text per language, where
    ``{resources}`` marks the place of the crisis lines (else they follow it)."""

    enabled: bool = True
    classifier_model: str | None = Field(default=None, pattern=_MODEL_NAME, max_length=100)
    crisis_threshold: float = Field(default=0.7, ge=0, lt=1)
    classifier_timeout_seconds: float = Field(default=1.5, ge=0.1, le=10)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    cooldown_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    safe_replies: dict[Literal["es", "en"], str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _replies_are_texts(self) -> GuardrailSettings:
        for language, text in self.safe_replies.items():
            if not text.strip() or len(text) > _MAX_SAFE_REPLY_CHARS:
                raise ValueError(
                    f"safe_replies.{language}: 1 to {_MAX_SAFE_REPLY_CHARS} characters"
                )
        return self


class AlertSettings(_Strict):
    """The regression alerts on this org's traffic (``parley.operations.alerts``): each rule's
    threshold (shares are fractions: 0.2 is 20%), how long an alert that still holds stays
    quiet (``throttle_hours``), and the daily budget the cost rule compares today's spend
    with (None: that comparison is off; the one with the trailing mean stays)."""

    enabled: bool = True
    throttle_hours: int = Field(default=6, ge=1, le=7 * 24)
    latency_p95_increase: float = Field(default=0.20, gt=0, le=100)
    latency_p95_max_ms: float = Field(default=5000, gt=0, le=3_600_000)
    success_rate_min: float = Field(default=0.95, ge=0, le=1)
    provider_error_rate_max: float = Field(default=0.05, ge=0, le=1)
    positive_feedback_drop: float = Field(default=0.10, gt=0, le=1)
    positive_feedback_min: float = Field(default=0.70, ge=0, le=1)
    daily_budget_usd: float | None = Field(default=None, gt=0, le=_MAX_DAILY_SPEND_USD)
    spend_over_budget: float = Field(default=0.20, ge=0, le=100)
    spend_over_trailing_mean: float = Field(default=0.20, ge=0, le=100)
    handoff_rate_max: float = Field(default=0.25, ge=0, le=1)


class OrgSettings(_Strict):
    default_mode: Mode = "auto"
    tiers: TiersSettings = TiersSettings()
    long_context: LongContextSettings = LongContextSettings()
    cheap_models: tuple[str, ...] = Field(default=(), max_length=10)
    smart_models: tuple[str, ...] = Field(default=(), max_length=10)
    # ``auto`` routes to the cheap chain while the org's token balance is below this.
    low_balance_tokens: int = Field(default=200, ge=0, le=MAX_SAFE_INTEGER)
    # Per user and UTC day; None: no cap.
    daily_spend_cap_usd: float | None = Field(default=None, gt=0, le=_MAX_DAILY_SPEND_USD)
    rate_limits: RateLimitSettings = RateLimitSettings()
    cache: CacheSettings = CacheSettings()
    failover: FailoverSettings = FailoverSettings()
    learned_routing: LearnedRoutingSettings = LearnedRoutingSettings()
    preferences: PreferencesSettings = PreferencesSettings()
    guardrails: GuardrailSettings = GuardrailSettings()
    alerts: AlertSettings = AlertSettings()

    @model_validator(mode="after")
    def _model_names(self) -> OrgSettings:
        _check_names(self.cheap_models)
        _check_names(self.smart_models)
        return self

    def named_models(self) -> set[str]:
        """Every model name these settings mention."""
        tiers = self.tiers
        return {
            *tiers.light.models,
            *tiers.standard.models,
            *tiers.heavy.models,
            *self.long_context.models,
            *self.cheap_models,
            *self.smart_models,
            *([self.guardrails.classifier_model] if self.guardrails.classifier_model else []),
        }

    def unknown_models(self, known: set[str]) -> list[str]:
        """The names these settings mention that are not in ``known`` (the catalog's)."""
        return sorted(self.named_models() - known)
