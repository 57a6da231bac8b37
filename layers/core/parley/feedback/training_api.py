"""``/v1/training-data``: the org's fine-tuning files (``users:manage``), one split of one
format as NDJSON, and the summary of what they hold (``parley.feedback.export``)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query
from fastapi.responses import Response

from parley.feedback.collaborators import Feedback
from parley.feedback.export import DEFAULT_MIN_QUALITY, TrainingSet, build_training_set
from parley.http.auth import Reviewer

__all__ = ["router"]

router = APIRouter(tags=["training data"])

MinQuality = Annotated[
    int, Query(ge=0, le=5, description="Least quality of an approved correction.")
]
SystemPrompt = Annotated[
    str | None, Query(max_length=8000, description="A system message for every example.")
]


async def _training_set(
    feedback: Feedback, org_id: str, min_quality: int, system_prompt: str | None
) -> TrainingSet:
    return await anyio.to_thread.run_sync(
        lambda: build_training_set(
            org_id,
            feedback.corrections,
            feedback.feedback,
            min_quality=min_quality,
            system_prompt=system_prompt,
        )
    )


@router.get("/v1/training-data", response_class=Response)
async def training_data(
    feedback: Feedback,
    identity: Reviewer,
    *,
    format: Literal["openai", "gemini"] = "openai",
    split: Literal["train", "validation"] = "train",
    min_quality: MinQuality = DEFAULT_MIN_QUALITY,
    system_prompt: SystemPrompt = None,
) -> Response:
    """One split in OpenAI chat fine-tuning or Gemini tuning JSONL, one example per line."""
    training = await _training_set(feedback, identity.org_id, min_quality, system_prompt)
    return Response(
        "".join(training.lines(format, split)),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{format}-{split}.jsonl"'},
    )


@router.get("/v1/training-data/summary")
async def training_data_summary(
    feedback: Feedback,
    identity: Reviewer,
    min_quality: MinQuality = DEFAULT_MIN_QUALITY,
    system_prompt: SystemPrompt = None,
) -> dict[str, Any]:
    """Counts by source, split and category, and what was skipped."""
    training = await _training_set(feedback, identity.org_id, min_quality, system_prompt)
    return training.summary()
