"""The usage store's interface: one record per provider call, written once, read per org and
UTC day.

Events expire after the retention period; reads never return an expired one. Operations are
synchronous (the DynamoDB store blocks; async callers use a worker thread), so every backend
must be safe to call from several threads at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Endpoint", "UsageEvent", "UsageStore", "event_order", "usage_event"]

Endpoint = Literal["stream", "completions"]


@dataclass(frozen=True)
class UsageEvent:
    request_id: str
    org_id: str
    user_id: str
    provider: str
    model: str
    endpoint: Endpoint
    input_tokens: int
    output_tokens: int
    usage_estimated: bool
    cost_usd: float
    latency_ms: float
    success: bool
    ttft_ms: float | None = None
    error_code: str | None = None
    finish_reason: str | None = None
    task_type: str | None = None
    panel: str | None = None  # the preference panel the message was about (stream only)
    conversation_id: str | None = None
    message_id: str | None = None
    attempt: int = 0  # 0 for the request's first provider call, then each retry or failover
    failover: bool = False  # this call was made because an earlier one failed
    cached: bool = False  # answered from the response cache: no provider call, no tokens
    route: str | None = None  # light, standard, heavy, long_context, cheap, smart or named
    tier: str | None = None
    mode: str | None = None
    complexity: float | None = None
    route_reason: str | None = None
    # On the request's first event only, when the crisis guardrail judged its message: what it
    # decided, ``<action>:<category>:<stage>`` (``safe_reply:suicide:offline``), never the text.
    guardrail: str | None = None
    # The request's smart defaults carried a value the learning job learned (stream only; on
    # the request's first event): what the alerts report as learned-preference coverage.
    learned_defaults: bool = False
    # Images the request sent the model (each call sends them all): their tokens are in
    # input_tokens as the provider counts them.
    images: int = 0
    created_at: float = 0.0  # epoch seconds; 0 means "now" when recorded


class UsageStore(ABC):
    @abstractmethod
    def record(self, event: UsageEvent) -> bool:
        """Store the event; False (and nothing written) when it was already recorded: the
        same request, attempt and ``created_at``."""

    @abstractmethod
    def for_org_day(self, org_id: str, day: str) -> list[UsageEvent]:
        """Every live event of one org on one UTC day (``yyyy-mm-dd``), oldest first, each
        with the ``created_at`` it was recorded at."""

    @abstractmethod
    def for_hour(
        self, hour: str, shard: int, *, after_org: str | None = None
    ) -> Iterator[UsageEvent]:
        """Every live event of one UTC hour (``yyyy-mm-ddTHH``) of the orgs in ``shard``
        (``parley.state.hour_index``), by org and then time; ``after_org`` starts after that
        org's events. Lazy: a caller that stops early reads no further."""


def event_order(stamp: str, event: UsageEvent) -> str:
    """Where an event sorts in its day: its time (ISO), then its request and attempt."""
    return f"{stamp}#{event.request_id}#{event.attempt}"


_FIELDS = set(UsageEvent.__dataclass_fields__)


def usage_event(values: dict[str, Any]) -> UsageEvent:
    """The event a stored record holds (attributes that are not fields are ignored)."""
    return UsageEvent(**{k: v for k, v in values.items() if k in _FIELDS})
