"""Learned routing: the recommender's advice reorders a tier's chain for the request's task type.

An org turns it on (``learned_routing`` in its settings, off by default). Then, for a request
the rules routed by mode ``auto`` to a tier (light, standard, heavy), the models of that tier's
chain that the org's advice (``parley.analytics.advice``) ranks for the request's task type go
first, in the advice's order (best first, as the recommender ranked them); the chain's other
models follow in the order the rules gave them. With probability ``exploration`` another model
of the chain, chosen uniformly, goes first instead, so every model keeps getting samples and a
model that improves can climb back. The route's ``reason`` (``meta.route.reason``, and each
usage event's ``route_reason``) starts with ``learned routing:`` and says which it was, or why
the rules chain was kept, so analytics can tell learned from rule routing.

What it never does: add a model. It only permutes the chain the rules built, which already holds
only models with a key here whose context window takes the prompt and its answer; advice naming
any other model (another tier's, one removed from the catalog, one of another provider under
the same name) is passed over. Advice with fewer than ``MIN_SAMPLES`` samples or below the
org's ``min_confidence`` is not followed.

What it leaves alone, on purpose:

* a request that named a model (``named``): the client chose it, and its fallbacks are there
  only for when it fails;
* ``cheap`` and ``smart`` (asked for by the request, the org's default mode, or a low balance
  in ``auto``): the caller chose a policy, lowest price or most capable, that a quality score
  must not override;
* ``long_context``: the advice is measured over every request of a task type, mostly short
  ones, and says little about a model reading a hundred thousand tokens.

``reorder`` is pure, but for its random source; ``LearnedRouting`` is what the request path
holds: the advice cache and the random source of the process.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence
    from typing import Any

    from parley.analytics.advice import Advice, AdviceCache, ModelAdvice
    from parley.orgs.settings import LearnedRoutingSettings, OrgSettings
    from parley.providers.catalog import ModelSpec
    from parley.routing.plan import Route

__all__ = ["LEARNED_ROUTES", "MIN_SAMPLES", "PREFIX", "LearnedRouting", "Reordered", "reorder"]

# The routes advice may reorder: the tiers ``auto`` picks by complexity.
LEARNED_ROUTES: Final = frozenset({"light", "standard", "heavy"})
MIN_SAMPLES: Final = 5  # the recommender leaves out models with fewer; so does routing
PREFIX: Final = "learned routing: "


@dataclass(frozen=True, slots=True)
class Reordered:
    chain: tuple[ModelSpec, ...]
    reason: str  # starts with PREFIX
    explored: bool = False


def reorder(
    chain: Sequence[ModelSpec],
    task_type: str,
    advice: Advice | None,
    settings: LearnedRoutingSettings,
    rng: random.Random,
) -> Reordered:
    """``chain`` reordered by ``advice`` for ``task_type``, and why. The result holds exactly
    the models of ``chain``."""
    kept = tuple(chain)
    if advice is None:
        return Reordered(kept, f"{PREFIX}rules chain kept (no advice for this org yet)")
    entries = advice.for_task(task_type)
    if not entries:
        return Reordered(kept, f"{PREFIX}rules chain kept (no advice for {task_type} yet)")
    advised, unconfident = _advised(kept, entries, settings.min_confidence)
    if not advised:
        why = (
            f"the advice for {task_type} is below confidence {_number(settings.min_confidence)}"
            if unconfident
            else f"no advice for {task_type} names a model of this chain"
        )
        return Reordered(kept, f"{PREFIX}rules chain kept ({why})")
    first = {spec.name for spec, _ in advised}
    ordered = [spec for spec, _ in advised] + [spec for spec in kept if spec.name not in first]
    exploration = settings.exploration
    if len(ordered) > 1 and exploration > 0 and rng.random() < exploration:
        explored = ordered.pop(1 + rng.randrange(len(ordered) - 1))
        reason = (
            f"{PREFIX}exploring {explored.name} for {task_type} "
            f"({_number(exploration * 100)}% of requests)"
        )
        return Reordered((explored, *ordered), reason, explored=True)
    best, entry = advised[0]
    reason = (
        f"{PREFIX}{best.name} first for {task_type} (score {_number(entry.score)}, "
        f"{entry.samples} samples, confidence {_number(entry.confidence)})"
    )
    return Reordered(tuple(ordered), reason)


class LearnedRouting:
    """Learned routing for the request path: the per-process advice cache and random source."""

    def __init__(self, advice: AdviceCache, *, rng: random.Random | None = None) -> None:
        self._advice = advice
        # Sampling which requests explore, not security.
        self._rng = rng or random.Random()  # noqa: S311

    def refresh(self, org_id: str, org: OrgSettings) -> Coroutine[Any, Any, None] | None:
        """The read to wait for before ``apply`` (one GetItem, shared by concurrent requests),
        or None: the org did not turn learned routing on, or its advice is fresh."""
        if not org.learned_routing.enabled or self._advice.is_fresh(org_id):
            return None
        return self._advice.refresh(org_id)

    def apply(self, route: Route, *, org_id: str, org: OrgSettings) -> Route:
        """``route`` with its chain reordered by the advice held and the reason prefixed, or
        ``route`` itself when the org did not turn it on or the route is not one it reorders."""
        settings = org.learned_routing
        if not settings.enabled or route.mode != "auto" or route.name not in LEARNED_ROUTES:
            return route
        learned = reorder(
            route.chain, route.analysis.task_type, self._advice.held(org_id), settings, self._rng
        )
        return dataclasses.replace(
            route, chain=learned.chain, reason=f"{learned.reason}; {route.reason}"
        )


def _advised(
    chain: tuple[ModelSpec, ...], entries: Sequence[ModelAdvice], min_confidence: float
) -> tuple[list[tuple[ModelSpec, ModelAdvice]], bool]:
    """The chain's models the advice ranks, in its order, each once; and whether any was left
    out only for being below ``min_confidence``."""
    by_name = {spec.name: spec for spec in chain}
    advised: list[tuple[ModelSpec, ModelAdvice]] = []
    taken: set[str] = set()
    unconfident = False
    for entry in entries:
        spec = by_name.get(entry.model)
        if spec is None or spec.name in taken or entry.samples < MIN_SAMPLES:
            continue
        if entry.provider is not None and entry.provider != spec.provider:
            continue  # another model under this name
        if entry.confidence < min_confidence:
            unconfident = True
            continue
        taken.add(spec.name)
        advised.append((spec, entry))
    return advised, unconfident


def _number(value: float) -> str:
    """87.24 -> "87.2", 80.0 -> "80", 5.000000000000001 -> "5"."""
    return f"{round(value, 1):g}"
