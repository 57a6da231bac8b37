"""The feedback function's collaborators, built once per process and kept on ``app.state``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from parley.feedback.corrections import CorrectionRepository
    from parley.feedback.idempotency import FeedbackIdempotency
    from parley.feedback.repository import FeedbackRepository

__all__ = ["ANALYTICS_SCOPE", "MANAGE_SCOPE", "FeedbackState", "feedback_state"]

ANALYTICS_SCOPE = "analytics:view"
MANAGE_SCOPE = "users:manage"


@dataclass(frozen=True)
class FeedbackState:
    feedback: FeedbackRepository
    corrections: CorrectionRepository
    idempotency: FeedbackIdempotency
    clock: Callable[[], float] = field(default=time.time)


def feedback_state(request: Request) -> FeedbackState:
    state: FeedbackState = request.app.state.feedback
    return state
