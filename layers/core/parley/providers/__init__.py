"""One async interface over OpenAI, Anthropic, Gemini, OpenAI-compatible servers and the
offline ``local`` model. Adapters (and their SDKs) load on first use via the registry."""

from parley.providers.base import (
    ChatMessage,
    Finish,
    GenerationRequest,
    Provider,
    StreamEvent,
    TextDelta,
    Usage,
)
from parley.providers.catalog import Catalog, ModelSpec, load_catalog
from parley.providers.errors import ProviderError, ProviderNotConfigured
from parley.providers.keys import ApiKeys
from parley.providers.registry import ProviderRegistry
from parley.providers.timeouts import ProviderTimeouts

__all__ = [
    "ApiKeys",
    "Catalog",
    "ChatMessage",
    "Finish",
    "GenerationRequest",
    "ModelSpec",
    "Provider",
    "ProviderError",
    "ProviderNotConfigured",
    "ProviderRegistry",
    "ProviderTimeouts",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "load_catalog",
]
