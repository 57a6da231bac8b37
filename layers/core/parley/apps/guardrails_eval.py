"""``parley eval guardrails --model``: the chat's own stage 2 (``CrisisGuard.decide``) with one
catalog model, built from the settings and the keys of the environment as the chat function
builds them, for the evaluation to call message by message."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from typing import TYPE_CHECKING

from parley.config import get_settings
from parley.errors import ValidationFailed
from parley.guardrails.guard import CrisisGuard
from parley.orgs.settings import GuardrailSettings
from parley.providers.catalog import load_catalog
from parley.providers.keys import ApiKeys
from parley.providers.registry import ProviderRegistry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from parley.guardrails.evaluation import SecondStage
    from parley.guardrails.verdict import Screening, Verdict

__all__ = ["model_second_stage"]


@contextmanager
def model_second_stage(model: str) -> Iterator[SecondStage]:
    """Stage 2 with ``model``, its client and event loop closed after; ValidationFailed when
    the catalog has no such model or its key is not configured (the evaluation would measure
    the offline classifier instead)."""
    settings = get_settings()
    catalog = load_catalog(settings.models_file)
    registry = ProviderRegistry(ApiKeys())
    spec = catalog.get(model)
    if spec is None:
        raise ValidationFailed(f"--model: {model} is not in the catalog")
    if spec.provider == "local" or not registry.is_available(spec):
        raise ValidationFailed(
            f"--model: {model} cannot judge here (the offline local model, or no API key: "
            f"set {ApiKeys().variable_for(spec)})"
        )
    guard = CrisisGuard(catalog, registry)
    guardrails = GuardrailSettings(classifier_model=model)
    loop = asyncio.new_event_loop()

    def judge(text: str, screening: Screening) -> tuple[Verdict, bool]:
        decision = loop.run_until_complete(guard.decide(text, screening, guardrails))
        return decision.verdict, decision.fail_safe is not None

    try:
        yield judge
    finally:
        loop.run_until_complete(registry.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
