"""What one call consumed, in tokens: a provider's report, or Parley's estimate. Its own
module so that the catalog (prices) and the provider contract (streams) can both use it
without either depending on the other."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    # True when the provider reported nothing and Parley estimated from the text.
    estimated: bool = False
