"""``/v1/corrections``: reviewers (``users:manage``) record how a reply should have read and
approve corrections with a quality score; analysts (``analytics:view``) list them. Every
correction belongs to the token's org: another org's id is 404."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Path, Query

from parley.feedback.collaborators import Feedback
from parley.feedback.schemas import ApprovalRequest, CorrectionRequest
from parley.http.auth import Analyst, Reviewer
from parley.ids import ID_PATTERN

__all__ = ["router"]

router = APIRouter(tags=["corrections"])


@router.post("/v1/corrections", status_code=201)
async def create_correction(
    feedback: Feedback, identity: Reviewer, body: CorrectionRequest
) -> dict[str, Any]:
    """A correction of a reply, `pending` until approved."""
    corrections = feedback.corrections
    return await anyio.to_thread.run_sync(lambda: corrections.create(identity, body))


@router.post("/v1/corrections/{correction_id}/approve")
async def approve_correction(
    feedback: Feedback,
    identity: Reviewer,
    correction_id: Annotated[str, Path(pattern=ID_PATTERN)],
    body: ApprovalRequest,
) -> dict[str, Any]:
    """Approve a pending correction with a quality score 0-5; 409 when already approved."""
    corrections = feedback.corrections
    return await anyio.to_thread.run_sync(
        lambda: corrections.approve(identity, correction_id, quality=body.quality)
    )


@router.get("/v1/corrections")
async def list_corrections(
    feedback: Feedback,
    identity: Analyst,
    status: Literal["pending", "approved"] = "pending",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    """The org's corrections with `status`, newest first, `limit` at a time."""
    corrections = feedback.corrections
    items, next_cursor = await anyio.to_thread.run_sync(
        lambda: corrections.page(identity.org_id, status, limit=limit, cursor=cursor)
    )
    return {"status": status, "items": items, "next_cursor": next_cursor}
