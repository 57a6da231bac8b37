"""What provider health keeps: each hour's summary and one record per provider model, the last
reset of each model's window, and the audit of resets. Each is a plain JSON document both
ways (``document`` / ``from_document``), the form the API, the CLI and the stores share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

__all__ = ["AuditEntry", "HealthHour", "HealthRecord", "HourSummary", "ResetMark"]


def _picked(cls: type, document: dict[str, Any]) -> dict[str, Any]:
    """The document's values of ``cls``'s fields: a stored item carries its keys besides."""
    return {f.name: document[f.name] for f in fields(cls) if f.name in document}


@dataclass(frozen=True)
class HealthRecord:
    """One provider model over one UTC hour (``yyyy-mm-ddTHH``).

    The figures are ``Figures.summary``'s; ``baseline`` the same of the hour a week earlier,
    with its ``hour``; ``change`` how the hour moved from it (``figures.change``).
    ``breaker``: the circuit when the job ran (``status``, ``open_until``, ``window``'s
    requests and failures) and ``trips``, how often it opened in the hour; None for a model
    that is no longer in the catalog (nothing calls it, so it has no circuit) or when the hot
    store could not be read. ``since``: the moment the figures start from, when an operator
    reset the model's window during the hour."""

    hour: str
    provider: str
    model: str
    calls: int
    successes: int
    error_rate: float | None
    errors: dict[str, int]
    error_rates: dict[str, float | None]
    latency_ms: dict[str, float | None]
    ttft_ms: dict[str, float | None]
    baseline: dict[str, Any]
    change: dict[str, float | None]
    breaker: dict[str, Any] | None = None
    since: float | None = None

    def document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> HealthRecord:
        return cls(**_picked(cls, document))


@dataclass(frozen=True)
class HourSummary:
    """What one run of the job found for its hour: written with the hour's records, so an
    hour without a single call still reads as computed."""

    hour: str
    baseline_hour: str
    computed_at: float
    events: int  # provider calls counted in the hour
    baseline_events: int
    models: int

    def document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> HourSummary:
        return cls(**_picked(cls, document))


@dataclass(frozen=True)
class HealthHour:
    summary: HourSummary
    records: list[HealthRecord]  # by provider, then model


@dataclass(frozen=True)
class ResetMark:
    """A model's last reset: the job counts its events in the reset's hour from ``at`` on."""

    model: str
    at: float
    user_id: str
    org_id: str | None

    def document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ResetMark:
        return cls(**_picked(cls, document))


@dataclass(frozen=True)
class AuditEntry:
    """Who reset which model's health, when, how (``via``: ``api`` with the token's user and
    org, ``cli`` with the operator's name and no org), and what the circuit was before."""

    audit_id: str
    at: float
    action: Literal["reset"]
    model: str
    provider: str
    user_id: str
    org_id: str | None
    via: Literal["api", "cli"]
    breaker_before: dict[str, Any]

    def document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> AuditEntry:
        return cls(**_picked(cls, document))

    def mark(self) -> ResetMark:
        return ResetMark(self.model, self.at, self.user_id, self.org_id)
