"""A user's stored preferences as plain values: what ``PreferencesRepository`` reads and
writes, and what the API, the chat's smart defaults and the learning job work from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.panels import split_path

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["LearnedScalar", "LearnedValue", "StoredPreferences", "explicit_value"]

LearnedScalar = str | int | float | bool | list[str]


@dataclass(frozen=True)
class LearnedValue:
    """A value the learning job inferred for one field, and how sure it is."""

    value: LearnedScalar
    confidence: float  # in (0.6, 0.95] as the job computes it
    samples: int  # messages counted for this field (after weighting)
    learned_at: str  # ISO time

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": self.confidence,
            "samples": self.samples,
            "learned_at": self.learned_at,
        }

    @staticmethod
    def from_json(data: Any) -> LearnedValue | None:
        """None for an entry that is not one (a hand edit); it is skipped, not fatal."""
        if not isinstance(data, dict) or "value" not in data:
            return None
        confidence, samples = data.get("confidence"), data.get("samples", 0)
        if not isinstance(confidence, int | float) or not isinstance(samples, int | float):
            return None
        return LearnedValue(
            value=data["value"],
            confidence=float(confidence),
            samples=int(samples),
            learned_at=str(data.get("learned_at", "")),
        )


@dataclass(frozen=True)
class StoredPreferences:
    """A user's item as stored; version 0 and empty documents when nothing was ever saved."""

    org_id: str
    user_id: str
    explicit: dict[str, Any] = field(default_factory=dict)
    learned: dict[str, LearnedValue] = field(default_factory=dict)
    version: int = 0
    updated_at: str | None = None
    learned_runs: tuple[str, ...] = ()


def explicit_value(explicit: Mapping[str, Any], path: str) -> Any:
    """The value the user set at ``"panel.field"``, or None."""
    parts = split_path(path)
    panels = explicit.get("preferences")
    if parts is None or not isinstance(panels, dict):
        return None
    values = panels.get(parts[0])
    return values.get(parts[1]) if isinstance(values, dict) else None
