"""One adapter per provider, base URL and key, built on first use and reused.

Each adapter module imports its SDK at the top, so importing it here, lazily, is what keeps a
request that uses OpenAI from paying for Anthropic's and Gemini's SDKs, and keeps them all out
of the cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from parley.providers.errors import ProviderNotConfigured
from parley.providers.timeouts import ProviderTimeouts

if TYPE_CHECKING:
    from parley.providers.base import Provider
    from parley.providers.catalog import ModelSpec
    from parley.providers.keys import ApiKeys

__all__ = ["ProviderRegistry"]

# provider name -> (module, class)
_ADAPTERS = {
    "openai": ("parley.providers.openai", "OpenAIProvider"),
    "openai_compatible": ("parley.providers.openai", "OpenAIProvider"),
    "anthropic": ("parley.providers.anthropic", "AnthropicProvider"),
    "gemini": ("parley.providers.gemini", "GeminiProvider"),
    "local": ("parley.providers.local", "LocalProvider"),
}


class ProviderRegistry:
    def __init__(
        self,
        keys: ApiKeys,
        *,
        timeouts: ProviderTimeouts | None = None,
        local_token_delay_seconds: float = 0.0,
    ) -> None:
        self._keys = keys
        self._timeouts = timeouts or ProviderTimeouts()
        self._local_delay = local_token_delay_seconds
        self._adapters: dict[tuple[str, str | None, str], Provider] = {}

    def is_available(self, spec: ModelSpec) -> bool:
        return self._keys.key_for(spec) is not None

    def provider_for(self, spec: ModelSpec) -> Provider:
        key = self._keys.key_for(spec)
        if key is None:
            variable = self._keys.variable_for(spec)
            raise ProviderNotConfigured(
                f"Model {spec.name} needs an API key: set {variable}, or put "
                f"{variable.lower()} in the PARLEY_SECRETS_ARN secret.",
                provider=spec.provider,
                model=spec.name,
            )
        cache_key = (spec.provider, spec.base_url, key)
        adapter = self._adapters.get(cache_key)
        if adapter is None:
            adapter = self._build(spec, key)
            self._adapters[cache_key] = adapter
        return adapter

    def _build(self, spec: ModelSpec, key: str) -> Provider:
        module_name, class_name = _ADAPTERS[spec.provider]
        adapter_class: Any = getattr(importlib.import_module(module_name), class_name)
        if spec.provider == "local":
            return adapter_class(token_delay_seconds=self._local_delay)  # type: ignore[no-any-return]
        arguments: dict[str, Any] = {
            "api_key": key,
            "base_url": spec.base_url,
            "timeouts": self._timeouts,
        }
        if spec.provider == "openai_compatible":
            arguments["compatible"] = True
        return adapter_class(**arguments)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            await adapter.aclose()
        self._adapters.clear()
