"""What the adapter tests share: a registry of the provider clients, a catalog entry for a
model on the fake upstream, and a stream read whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.providers.catalog import ModelSpec
from parley.providers.keys import ApiKeys
from parley.providers.registry import ProviderRegistry
from parley.providers.timeouts import ProviderTimeouts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from parley.providers.base import GenerationRequest, StreamEvent
    from tests.fakes.upstreams import FakeUpstream

__all__ = ["adapter_registry", "adapter_spec", "events_of"]


async def adapter_registry() -> AsyncIterator[ProviderRegistry]:
    """The provider clients, with the key every fake upstream accepts; closed after the
    test (the SDK clients belong to its event loop)."""
    keys = ApiKeys(environ={"FAKE_KEY": "test-key"})
    built = ProviderRegistry(keys, timeouts=ProviderTimeouts(connect_seconds=2, read_seconds=2))
    yield built
    await built.aclose()


def adapter_spec(upstream: FakeUpstream, provider: str, model: str, *, name: str) -> ModelSpec:
    """A light model named ``name`` whose provider is ``provider``, served by the fake as
    ``model``."""
    base_urls = {
        "openai": upstream.openai_base_url,
        "openai_compatible": upstream.openai_base_url,
        "anthropic": upstream.anthropic_base_url,
        "gemini": upstream.gemini_base_url,
    }
    return ModelSpec(
        name=name,
        provider=provider,  # type: ignore[arg-type]
        model=model,
        base_url=base_urls[provider],
        api_key_env="FAKE_KEY",
        tier="light",
        context_window=8000,
        input_price_per_mtok=1,
        output_price_per_mtok=2,
    )


async def events_of(
    registry: ProviderRegistry, spec: ModelSpec, request: GenerationRequest
) -> list[StreamEvent]:
    return [event async for event in registry.provider_for(spec).stream(spec, request)]
