"""Building the feedback function's app, and putting its collaborators on any app (``parley dev``
serves these routes beside the chat function's)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from parley.config import get_settings
from parley.feedback.api import router as feedback_router
from parley.feedback.corrections import CorrectionRepository
from parley.feedback.corrections_api import router as corrections_router
from parley.feedback.idempotency import FeedbackIdempotency
from parley.feedback.repository import FeedbackRepository
from parley.feedback.state import FeedbackState
from parley.feedback.training_api import router as training_router
from parley.http.app import create_app
from parley.state.client import dynamodb_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import APIRouter, FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

__all__ = ["create_feedback_app", "feedback_routers", "install_feedback_state"]


def feedback_routers() -> list[APIRouter]:
    return [feedback_router, corrections_router, training_router]


def install_feedback_state(
    app: FastAPI,
    *,
    settings: Settings,
    client: DynamoDBClient | None = None,
    clock: Callable[[], float] = time.time,
) -> FeedbackState:
    """Set ``app.state.feedback`` (what the routers read); returns it."""
    client = client or dynamodb_client()
    state = FeedbackState(
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
    app.state.feedback = state
    return state


def create_feedback_app(
    settings: Settings | None = None, *, client: DynamoDBClient | None = None
) -> FastAPI:
    settings = settings or get_settings()
    app = create_app(title="Parley feedback", routers=feedback_routers(), settings=settings)
    install_feedback_state(app, settings=settings, client=client)
    return app
