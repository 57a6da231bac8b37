"""Fallback chains: the models a route tries, in order.

A route's chain is the first of these that leaves a model to call: the org's settings, the
catalog's ``routing`` section, then every model of the catalog in the order of its tiers and
prices (``derived_order``). Each keeps only the models this deployment can call (their key is
configured) and whose context window holds the prompt and its answer, so a deployment with
only an Anthropic key still routes every tier somewhere. ``local``, the offline model, is the
last resort only when no other model of the catalog can be called: a keyless ``make dev``
still answers, and a deployment whose providers are all failing never answers with canned text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.providers.catalog import TIER_ORDER

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from parley.orgs.settings import OrgSettings
    from parley.providers.catalog import Catalog, ModelSpec

__all__ = ["Chains", "derived_order", "org_chains"]

# The tier each route's derived order starts from; cheap and smart have orders of their own.
_ROUTE_TIER = {"light": 0, "standard": 1, "heavy": 2, "long_context": 1}
_OFFLINE = "local"


def org_chains(org: OrgSettings) -> dict[str, tuple[str, ...]]:
    """The chain each route of ``org``'s settings names (empty: the org set none)."""
    tiers = org.tiers
    return {
        "light": tiers.light.models,
        "standard": tiers.standard.models,
        "heavy": tiers.heavy.models,
        "long_context": org.long_context.models,
        "cheap": org.cheap_models,
        "smart": org.smart_models,
    }


def derived_order(
    models: Iterable[ModelSpec], route: str, preferred: str | None = None
) -> list[ModelSpec]:
    """Every model but the offline one, in the order a route without a chain tries them.

    ``cheap``: lowest price first. ``smart``: highest tier, then highest price (the price
    stands in for capability within a tier). A tier: that tier, then the tier above (a
    stronger model is a better stand-in than a weaker one), then the rest by distance; within
    each, the ``preferred`` model (the catalog's default) and then the lowest price first."""
    specs = [spec for spec in models if spec.provider != _OFFLINE]
    if route == "cheap":
        return sorted(specs, key=lambda s: (_price(s), TIER_ORDER[s.tier]))
    if route == "smart":
        return sorted(specs, key=lambda s: (-TIER_ORDER[s.tier], -_price(s)))
    home = _ROUTE_TIER[route]

    def distance(spec: ModelSpec) -> tuple[int, int, bool, float]:
        tier = TIER_ORDER[spec.tier]
        return (abs(tier - home), 0 if tier >= home else 1, spec.name != preferred, _price(spec))

    return sorted(specs, key=distance)


class Chains:
    """The chains of one request: the catalog, what the org configured, what can be called."""

    def __init__(
        self,
        catalog: Catalog,
        is_available: Callable[[ModelSpec], bool],
        org_chains: Mapping[str, Sequence[str]],
        *,
        preferred: str | None = None,
    ) -> None:
        self._catalog = catalog
        self._is_available = is_available
        self._org = org_chains
        self._preferred = preferred or catalog.default_model

    def is_available(self, spec: ModelSpec) -> bool:
        return self._is_available(spec)

    def for_route(self, route: str, *, needed_tokens: int = 0) -> list[ModelSpec]:
        """The models to try for ``route`` in order; empty when nothing can take the prompt."""
        for names in (self._org.get(route) or (), self._catalog.routing.chain(route)):
            chain = self._callable(self._specs(names), needed_tokens)
            if chain:
                return chain
        chain = self._callable(
            derived_order(self._catalog.models, route, self._preferred), needed_tokens
        )
        return chain or self._offline(needed_tokens)

    def starting_with(
        self, spec: ModelSpec, *, fallbacks: bool, needed_tokens: int = 0
    ) -> list[ModelSpec]:
        """A named model first, then (when ``fallbacks``) its tier's chain without it."""
        chain = [spec]
        if fallbacks:
            chain += [
                s for s in self.for_route(spec.tier, needed_tokens=needed_tokens) if s != spec
            ]
        return chain

    def _specs(self, names: Iterable[str]) -> list[ModelSpec]:
        specs = (self._catalog.get(name) for name in names)
        return [spec for spec in specs if spec is not None]

    def _callable(self, specs: Iterable[ModelSpec], needed_tokens: int) -> list[ModelSpec]:
        chain: list[ModelSpec] = []
        for spec in specs:
            if spec.provider == _OFFLINE or spec in chain:
                continue
            if spec.context_window >= needed_tokens and self._is_available(spec):
                chain.append(spec)
        return chain

    def _offline(self, needed_tokens: int) -> list[ModelSpec]:
        if any(s.provider != _OFFLINE and self._is_available(s) for s in self._catalog.models):
            return []
        return [
            s
            for s in self._catalog.models
            if s.provider == _OFFLINE and s.context_window >= needed_tokens
        ]


def _price(spec: ModelSpec) -> float:
    return spec.input_price_per_mtok + spec.output_price_per_mtok
