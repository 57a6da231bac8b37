"""Choosing the model for a request: the one the client named, or one picked by mode.

``auto`` takes the catalog's default model when its provider is configured (else the first
configured model, the offline ``local`` model in a keyless development setup); ``cheap`` the
lowest-priced configured model; ``smart`` the highest-tier one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from parley.errors import ValidationFailed
from parley.providers.catalog import TIER_ORDER
from parley.providers.errors import ProviderNotConfigured

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.providers.catalog import Catalog, ModelSpec

__all__ = ["Mode", "Selection", "select_model"]

Mode = Literal["auto", "cheap", "smart"]


@dataclass(frozen=True, slots=True)
class Selection:
    spec: ModelSpec
    mode: Mode
    reason: str


def select_model(
    catalog: Catalog,
    is_available: Callable[[ModelSpec], bool],
    *,
    requested: str | None,
    mode: Mode,
    default_model: str | None = None,
) -> Selection:
    if requested:
        spec = catalog.get(requested)
        if spec is None:
            raise ValidationFailed(
                f"Unknown model {requested!r}. GET /v1/models lists the models of this deployment."
            )
        if not is_available(spec):
            raise ProviderNotConfigured(
                f"Model {requested} is in the catalog but its provider has no API key here.",
                provider=spec.provider,
                model=spec.name,
            )
        return Selection(spec, mode, f"the request named {spec.name}")

    available = [spec for spec in catalog.models if is_available(spec)]
    if not available:
        raise ProviderNotConfigured("No model of the catalog has its API key configured.")
    if mode == "cheap":
        spec = min(available, key=lambda s: (_price(s), TIER_ORDER[s.tier]))
        return Selection(spec, mode, f"cheap mode: {spec.name} is the lowest-priced model")
    if mode == "smart":
        spec = max(available, key=lambda s: (TIER_ORDER[s.tier], _price(s)))
        return Selection(spec, mode, f"smart mode: {spec.name} is the most capable model")
    preferred = catalog.get(default_model or catalog.default_model)
    if preferred is not None and preferred in available:
        return Selection(preferred, mode, f"auto mode: {preferred.name} is the default model")
    spec = available[0]
    return Selection(
        spec, mode, f"auto mode: the default model has no API key here, so {spec.name}"
    )


def _price(spec: ModelSpec) -> float:
    return spec.input_price_per_mtok + spec.output_price_per_mtok
