"""What the feedback, corrections and training-data APIs work with, installed by the app that
serves them (parley.apps)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.feedback.corrections import CorrectionRepository
    from parley.feedback.idempotency import FeedbackIdempotency
    from parley.feedback.repository import FeedbackRepository

__all__ = ["Feedback", "FeedbackCollaborators"]


@dataclass(frozen=True)
class FeedbackCollaborators:
    feedback: FeedbackRepository
    corrections: CorrectionRepository
    idempotency: FeedbackIdempotency
    clock: Callable[[], float] = field(default=time.time)


Feedback = Annotated[FeedbackCollaborators, collaborator(FeedbackCollaborators)]
