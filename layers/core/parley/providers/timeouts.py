"""How long adapters wait on a provider. The read timeout bounds each gap between bytes, so
it is also the transport-level idle timeout of a stream."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProviderTimeouts"]


@dataclass(frozen=True, slots=True)
class ProviderTimeouts:
    connect_seconds: float = 5.0
    read_seconds: float = 30.0
