"""The feedback function's app: feedback, corrections and training data, behind Mangum."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from parley.apps.parts import Parts, build_app
from parley.config import get_settings
from parley.feedback.api import router as feedback_router
from parley.feedback.collaborators import FeedbackCollaborators
from parley.feedback.corrections import CorrectionRepository
from parley.feedback.corrections_api import router as corrections_router
from parley.feedback.idempotency import FeedbackIdempotency
from parley.feedback.repository import FeedbackRepository
from parley.feedback.training_api import router as training_router
from parley.state.client import dynamodb_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

__all__ = ["create_feedback_app", "feedback_parts"]


def create_feedback_app(
    settings: Settings | None = None, *, client: DynamoDBClient | None = None
) -> FastAPI:
    settings = settings or get_settings()
    return build_app(feedback_parts(settings, client), title="Parley feedback", settings=settings)


def feedback_parts(
    settings: Settings,
    client: DynamoDBClient | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Parts:
    client = client or dynamodb_client()
    feedback = FeedbackCollaborators(
        feedback=FeedbackRepository(
            settings.feedback_table, settings.conversations_table, client=client, clock=clock
        ),
        corrections=CorrectionRepository(settings.feedback_table, client=client, clock=clock),
        idempotency=FeedbackIdempotency(
            settings.idempotency_table,
            client=client,
            expires_after_seconds=settings.feedback_idempotency_seconds,
        ),
        clock=clock,
    )
    return Parts(
        routers=(feedback_router, corrections_router, training_router),
        collaborators=(feedback,),
    )
