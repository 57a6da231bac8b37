"""The route of one request: its fallback chain, its output budget and why.

In order of precedence:

1. a request that names a model gets that model, then (unless the org turned it off) the rest
   of its tier's chain;
2. a prompt estimated above the org's long-context threshold (100K tokens) goes to the
   long-context chain, whatever the mode: other models could not read it;
3. ``cheap`` takes the cheap chain and the light tier's budget, ``smart`` the smart chain and
   the heavy tier's budget;
4. ``auto`` takes the cheap chain while a metered org's balance is below its low-balance
   threshold (200 tokens), else the tier its complexity falls in: light below
   ``standard_from`` (0.5), heavy above ``heavy_above`` (0.75), standard between.

The output budget is the request's ``max_tokens`` when it sets one, else the route's (800 /
2000 / 3000 tokens by tier). A request that needs a capability (tools, images of a type, a JSON
schema: ``parley.routing.needs``) keeps only the chain's models that have it, and the reason
names those skipped; a chain (or a named model) without any is 422 ``capability_unavailable``.
Pure: the same inputs always give the same route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from parley.errors import ValidationFailed
from parley.providers.errors import ProviderNotConfigured
from parley.routing.needs import Needs, capability_unavailable

if TYPE_CHECKING:
    from parley.orgs.settings import Mode, OrgSettings, TierSettings
    from parley.providers.catalog import Catalog, ModelSpec, Tier
    from parley.routing.analysis import Analysis
    from parley.routing.chains import Chains

__all__ = ["Route", "RouteRequest", "plan_route", "tier_for"]

RouteName = Literal["named", "light", "standard", "heavy", "long_context", "cheap", "smart"]


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """What routing needs to know of a request."""

    mode: Mode
    analysis: Analysis
    prompt_tokens: int  # estimated: system prompt, history, message and attachments
    model: str | None = None
    max_tokens: int | None = None
    balance_tokens: int | None = None  # None: the org is unmetered
    # Capabilities beyond text: the chain's models without them are skipped.
    needs: Needs = field(default_factory=Needs)


@dataclass(frozen=True, slots=True)
class Route:
    chain: tuple[ModelSpec, ...]
    mode: Mode
    name: RouteName
    tier: Tier
    max_tokens: int
    reason: str
    analysis: Analysis
    prompt_tokens: int

    @property
    def primary(self) -> ModelSpec:
        return self.chain[0]


def tier_for(complexity: float, settings: OrgSettings) -> Tier:
    tiers = settings.tiers
    if complexity > tiers.heavy_above:
        return "heavy"
    if complexity >= tiers.standard_from:
        return "standard"
    return "light"


def plan_route(
    request: RouteRequest, *, catalog: Catalog, chains: Chains, settings: OrgSettings
) -> Route:
    """The route, or ValidationFailed (422) for an unknown model or a prompt no model can
    read, ProviderNotConfigured (503) when the models it needs have no key here."""
    return _Planner(request, catalog, chains, settings).route()


class _Planner:
    def __init__(
        self, request: RouteRequest, catalog: Catalog, chains: Chains, settings: OrgSettings
    ) -> None:
        self._request = request
        self._catalog = catalog
        self._chains = chains
        self._settings = settings
        self._explained = request.analysis.reason()

    def route(self) -> Route:
        request, settings = self._request, self._settings
        if request.model:
            return self._named(request.model)
        long = settings.long_context
        if request.prompt_tokens > long.threshold_tokens:
            reason = (
                f"long context: about {request.prompt_tokens} tokens, above "
                f"{long.threshold_tokens}; {self._explained}"
            )
            return self._along("long_context", request.max_tokens or long.max_tokens, reason)
        mode = request.mode
        balance = request.balance_tokens
        if mode == "auto" and balance is not None and balance < settings.low_balance_tokens:
            reason = (
                f"auto mode: balance {balance} tokens is below {settings.low_balance_tokens}, "
                f"so the cheap chain; {self._explained}"
            )
            return self._along("cheap", self._budget("light"), reason)
        if mode == "cheap":
            return self._along("cheap", self._budget("light"), f"cheap mode; {self._explained}")
        if mode == "smart":
            return self._along("smart", self._budget("heavy"), f"smart mode; {self._explained}")
        tier = tier_for(request.analysis.complexity, settings)
        reason = f"auto mode: {tier} tier for {self._explained}"
        return self._along(tier, self._budget(tier), reason, tier=tier)

    def _named(self, name: str) -> Route:
        spec = self._catalog.get(name)
        if spec is None:
            raise ValidationFailed(
                f"Unknown model {name!r}. GET /v1/models lists the models of this deployment."
            )
        if not self._chains.is_available(spec):
            raise ProviderNotConfigured(
                f"Model {name} is in the catalog but its provider has no API key here.",
                provider=spec.provider,
                model=spec.name,
            )
        budget = self._budget(spec.tier)
        needed = self._request.prompt_tokens + budget
        if spec.context_window < needed:
            raise _too_long(needed, [spec])
        chain = self._chains.starting_with(
            spec, fallbacks=self._settings.failover.named_models, needed_tokens=needed
        )
        if self._request.needs.lacking(spec):
            raise capability_unavailable(
                self._request.needs, [spec], self._catalog.models, self._chains.is_available
            )
        reason = f"the request named {spec.name}; {self._explained}"
        return self._make(chain, "named", spec.tier, budget, reason)

    def _along(self, route: RouteName, budget: int, reason: str, tier: Tier | None = None) -> Route:
        needed = self._request.prompt_tokens + budget
        chain = self._chains.for_route(route, needed_tokens=needed)
        if not chain:
            available = [s for s in self._catalog.models if self._chains.is_available(s)]
            if self._chains.for_route(route):  # models exist, none takes a prompt this long
                raise _too_long(needed, available)
            raise ProviderNotConfigured("No model of the catalog has its API key configured.")
        return self._make(chain, route, tier or chain[0].tier, budget, reason)

    def _make(
        self, chain: list[ModelSpec], name: RouteName, tier: Tier, budget: int, reason: str
    ) -> Route:
        needs = self._request.needs
        if needs:
            capable, skipped = needs.capable(chain)
            if not capable:
                raise capability_unavailable(
                    needs, chain, self._catalog.models, self._chains.is_available
                )
            if skipped:
                reason = f"{reason}; skipped {', '.join(skipped)}"
            chain = capable
        return Route(
            chain=tuple(chain),
            mode=self._request.mode,
            name=name,
            tier=tier,
            max_tokens=budget,
            reason=reason,
            analysis=self._request.analysis,
            prompt_tokens=self._request.prompt_tokens,
        )

    def _budget(self, tier: Tier) -> int:
        if self._request.max_tokens:
            return self._request.max_tokens
        tier_settings: TierSettings = getattr(self._settings.tiers, tier)
        return tier_settings.max_tokens


def _too_long(tokens: int, candidates: list[ModelSpec]) -> ValidationFailed:
    largest = max((spec.context_window for spec in candidates), default=0)
    return ValidationFailed(
        f"The prompt and its answer need about {tokens} tokens; the largest context window "
        f"available here is {largest}. Shorten the message or its attachments.",
        code="context_too_long",
    )
