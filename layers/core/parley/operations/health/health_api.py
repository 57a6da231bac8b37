"""``/v1/health``: the providers' health records for operators (``ops:view``), and an
operator's reset of one model (``ops:manage``), audited. Provider health is the deployment's,
not an org's: every org's calls count in it, and it names no org but a resetting operator's."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query
from starlette.convertors import Convertor, register_url_convertor

from parley.errors import NotFound
from parley.http.auth import OperationsManager, Operator
from parley.operations.health.collaborators import Health
from parley.operations.health.hours import checked_hour
from parley.operations.health.reset import reset_model
from parley.operations.health.view import health_document

__all__ = ["router"]

router = APIRouter(tags=["health"])


class _AnyName(Convertor[str]):
    """A path segment that may hold "/" (catalog names may) and any other character, even a
    newline, which Starlette's ``path`` (``.*``) does not match: a route that does not match
    is a 404 before the token is checked, and every request without a token must be 401."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("model_name", _AnyName())

Hour = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}$",
        description="A UTC hour, `yyyy-mm-ddTHH` (default: the newest reported).",
    ),
]
ModelName = Annotated[str, Path(max_length=100, description="A catalog model's name.")]


@router.get("/v1/health/providers")
async def providers(health: Health, identity: Operator, *, hour: Hour = None) -> dict[str, Any]:
    """Each provider model's calls, error rate by code, p50/p95 latency and p95 time to first
    token over one hour, against the same hour a week earlier (`baseline`, `change`), with
    its circuit breaker's state and openings (`breaker`) and its last reset (`reset`)."""
    if hour is not None:
        checked_hour(hour)  # 422 for 2026-13-01T08, which the pattern lets through

    def read() -> dict[str, Any]:
        wanted = hour or health.store.latest_hour()
        found = health.store.hour(wanted) if wanted is not None else None
        if hour is not None and found is None:
            raise NotFound(f"No provider health for {hour}: the job has not reported it.")
        return health_document(found, health.store.resets())

    return await anyio.to_thread.run_sync(read)


@router.post("/v1/health/providers/{model:model_name}/reset")
async def reset(health: Health, identity: OperationsManager, model: ModelName) -> dict[str, Any]:
    """Close the model's circuit, forget its failure window, count its health from now on;
    audited with the caller's user and org. 404 for a model not in the catalog."""
    entry = await reset_model(
        model,
        catalog=health.catalog,
        breaker=health.breaker,
        store=health.store,
        user_id=identity.user_id,
        org_id=identity.org_id,
        via="api",
        clock=health.clock,
    )
    return entry.document()


@router.get("/v1/health/audit")
async def audit(
    health: Health,
    identity: Operator,
    *,
    limit: Annotated[int, Query(ge=1, le=200, description="Entries, newest first.")] = 50,
) -> dict[str, Any]:
    """The operators' resets, newest first: who, when, which model, and its circuit before."""
    entries = await anyio.to_thread.run_sync(lambda: health.store.audit(limit=limit))
    return {"entries": [entry.document() for entry in entries]}
