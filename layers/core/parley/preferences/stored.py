"""A user's stored preferences as plain values: what ``PreferencesRepository`` reads and
writes, and what the API, the chat's smart defaults and the learning job work from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

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
    samples: int  # messages counted for this field (items written before issue 14: weighted)
    learned_at: str  # ISO time
    # Added by issue 14; None in items written before it (and then not stored).
    messages: int | None = None  # messages behind the value, disliked ones included
    support: dict[str, float] | None = None  # the best few options' net weighted support

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "value": self.value,
            "confidence": self.confidence,
            "samples": self.samples,
            "learned_at": self.learned_at,
        }
        if self.messages is not None:
            data["messages"] = self.messages
        if self.support is not None:
            data["support"] = dict(self.support)
        return data

    @staticmethod
    def from_json(data: Any) -> LearnedValue | None:
        """None for an entry that is not one (a hand edit); it is skipped, not fatal."""
        if not isinstance(data, dict) or "value" not in data:
            return None
        confidence, samples = data.get("confidence"), data.get("samples", 0)
        if not isinstance(confidence, int | float) or not isinstance(samples, int | float):
            return None
        messages, support = data.get("messages"), data.get("support")
        return LearnedValue(
            value=data["value"],
            confidence=float(confidence),
            samples=int(samples),
            learned_at=str(data.get("learned_at", "")),
            messages=int(messages) if _is_number(messages) else None,
            support=_support(support),
        )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _support(data: Any) -> dict[str, float] | None:
    """A stored ``support`` map; None when absent or not one (a hand edit)."""
    if not isinstance(data, dict):
        return None
    return {str(option): float(weight) for option, weight in data.items() if _is_number(weight)}


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
