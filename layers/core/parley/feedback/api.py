"""``/v1/feedback``: any user rates their own replies; analysts (``analytics:view``) read the
org's feedback and its rates. The org and user are always the token's."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import itertools
from datetime import date
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from parley.errors import ValidationFailed
from parley.feedback.analytics import Period, summarise
from parley.feedback.collaborators import Feedback
from parley.feedback.days import DayRange
from parley.feedback.schemas import FeedbackRequest
from parley.http.auth import Analyst, CurrentIdentity
from parley.http.idempotency_key import IdempotencyKey, validate_idempotency_key
from parley.http.responses import REPLAYED_HEADERS

__all__ = ["router"]

router = APIRouter(tags=["feedback"])

From = Annotated[
    date | None, Query(alias="from", description="First UTC day (default: 6 days before `to`).")
]
To = Annotated[
    date | None, Query(alias="to", description="Last UTC day, inclusive (default: today).")
]


@router.post("/v1/feedback", status_code=201)
async def submit_feedback(
    request: Request,
    feedback: Feedback,
    identity: CurrentIdentity,
    body: FeedbackRequest,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Feedback on one of the caller's replies (another user's is 404). 201 with the record,
    `feedback_id` and the implicit `satisfaction` score; a retry (with the same
    `Idempotency-Key`, or without one the identical submission) gets the same record with
    `Idempotent-Replayed: true`."""
    key = validate_idempotency_key(idempotency_key) if idempotency_key is not None else None
    # Mangum's scope holds the Lambda context; under uvicorn or in tests there is none.
    lambda_context = request.scope.get("aws.context")

    def submit() -> tuple[dict[str, Any], bool]:
        return feedback.idempotency.run(
            lambda: feedback.feedback.submit(identity, body),
            org_id=identity.org_id,
            user_id=identity.user_id,
            key=key,
            submission=body.submission(),
            lambda_context=lambda_context,
        )

    record, replayed = await anyio.to_thread.run_sync(submit)
    headers = REPLAYED_HEADERS if replayed else None
    return JSONResponse(record, status_code=201, headers=headers)


@router.get("/v1/feedback")
async def list_feedback(
    feedback: Feedback,
    identity: Analyst,
    *,
    first: From = None,
    last: To = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    thumbs: Annotated[int | None, Query(description="1 or -1")] = None,
    min_rating: Annotated[int | None, Query(ge=1, le=5)] = None,
) -> dict[str, Any]:
    """The org's feedback in the range, newest first, `limit` at a time (`next_cursor`)."""
    if thumbs not in (None, 1, -1):
        raise ValidationFailed("thumbs is 1 or -1.")
    days = DayRange.parse(first, last, now=feedback.clock())
    items, next_cursor = await anyio.to_thread.run_sync(
        lambda: feedback.feedback.page(
            identity.org_id,
            days,
            limit=limit,
            cursor=cursor,
            thumbs=thumbs,
            min_rating=min_rating,
        )
    )
    return {
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "items": items,
        "next_cursor": next_cursor,
    }


@router.get("/v1/feedback/analytics")
async def feedback_analytics(
    feedback: Feedback,
    identity: Analyst,
    first: From = None,
    last: To = None,
    period: Literal["day", "week", "month"] = "day",
) -> dict[str, Any]:
    """Helpful rate, average rating, implicit satisfaction, continuation, action completion
    and handoff rates, per period and overall (`null` where nothing counts); per model rated
    (`byModel`), and how many records have a comment (`comments`)."""
    days = DayRange.parse(first, last, now=feedback.clock())
    chosen: Period = period

    def compute() -> dict[str, Any]:
        records = itertools.chain.from_iterable(
            feedback.feedback.records(identity.org_id, day) for day in days.days()
        )
        return summarise(records, days, chosen)

    return await anyio.to_thread.run_sync(compute)
