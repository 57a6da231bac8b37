"""One call to one model, as the failover engine made it: what it produced, how it ended and
what it cost. The pipeline records each as a usage event and charges their sum."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from parley.providers.base import Usage
from parley.providers.tokens import estimated_usage

if TYPE_CHECKING:
    from parley.errors import ParleyError
    from parley.providers.base import Finish, GenerationRequest
    from parley.providers.catalog import ModelSpec

__all__ = ["Attempt", "Held", "Switch"]


@dataclass
class Attempt:
    number: int  # 0 for the request's first call, counting every retry and failover
    spec: ModelSpec
    request: GenerationRequest
    failover: bool  # made because an earlier attempt failed
    probe: bool = False  # the circuit breaker's half-open probe
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None
    ttft_ms: float | None = None
    produced: list[str] = field(default_factory=list)
    called: bool = False  # a tool call's fragment has arrived
    finish: Finish | None = None
    error: ParleyError | None = None

    @property
    def succeeded(self) -> bool:
        return self.finish is not None and self.error is None

    @property
    def usage(self) -> Usage:
        """Reported usage when the call finished; else an estimate of what it consumed: the
        prompt and the text produced when it produced any, nothing when it failed before its
        first token (providers do not bill a call they refused)."""
        if self.finish is not None and self.error is None:
            return self.finish.usage
        if not self.produced:
            return Usage(0, 0, estimated=True)
        return estimated_usage(self.request, self.produced)

    @property
    def cost_usd(self) -> float:
        return self.spec.cost_usd(self.usage)

    @property
    def latency_ms(self) -> float:
        end = self.ended if self.ended is not None else time.perf_counter()
        return round((end - self.started) * 1000, 2)


@dataclass(frozen=True, slots=True)
class Switch:
    """A stream that broke after delivering text continues on another model."""

    source: ModelSpec
    target: ModelSpec
    reason: str  # the error code of the failure
    after_tokens: int  # token events the client had received when it broke


@dataclass(frozen=True, slots=True)
class Held:
    """Text of an answer held back until it is checked whole (a structured answer): what the
    model has written so far, for progress (the native stream's ``partial`` events), never
    text the client is given as the answer. A ``Switch`` before the next ``Held`` means an
    earlier attempt's held text was thrown away."""

    text: str
