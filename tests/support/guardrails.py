"""What the guardrail tests send: messages of each kind, and the classifier model's verdict
as the fake upstream scripts it (one JSON object, in any provider's wire format)."""

from __future__ import annotations

import json

from tests.fakes.upstreams import Script

__all__ = ["CRISIS_EN", "CRISIS_ES", "THIRD_PARTY", "verdict"]

CRISIS_EN = "I have the pills saved up and tonight I'm going to take them all"
CRISIS_ES = "ya no quiero seguir viviendo"
THIRD_PARTY = "My friend told me she wants to kill herself, what do I do?"


def verdict(is_crisis: bool, confidence: float, category: str) -> Script:
    answer = {"is_crisis": is_crisis, "confidence": confidence, "category": category,
              "reason": "scripted verdict"}  # fmt: skip
    return Script(chunks=[json.dumps(answer)], usage=(180, 30))
