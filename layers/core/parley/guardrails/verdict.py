"""What the guardrails decide about one message, whichever stage decided it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CRISIS_CATEGORIES", "Category", "Language", "Screening", "Stage", "Verdict"]

Language = Literal["es", "en"]
# suicide: wanting to die or to end one's life; self_harm: hurting oneself without that;
# third_party: worry about someone else at risk (an ordinary answer, plus resources for
# helping them); none: anything else.
Category = Literal["suicide", "self_harm", "third_party", "none"]
CRISIS_CATEGORIES: frozenset[Category] = frozenset({"suicide", "self_harm"})
# prefilter: stage 1 cleared the message; model: the org's classifier model decided;
# offline: the offline classifier decided (no model configured, or it failed or was late).
Stage = Literal["prefilter", "model", "offline"]


@dataclass(frozen=True, slots=True)
class Screening:
    """Stage 1's answer: whether stage 2 must see the message, and why (pattern names only,
    never the text)."""

    flagged: bool
    language: Language
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    is_crisis: bool
    confidence: float  # 0-1: how sure the deciding stage is of its category
    category: Category
    reason: str  # a short explanation in English, never a quote of the message
    stage: Stage

    @property
    def third_party(self) -> bool:
        return not self.is_crisis and self.category == "third_party"
