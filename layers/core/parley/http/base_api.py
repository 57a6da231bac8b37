"""Routes every Parley app serves."""

# No `from __future__ import annotations` in route modules: FastAPI reads the parameter
# annotations at runtime to find dependencies.
from fastapi import APIRouter

from parley.http.auth import CurrentIdentity

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", tags=["meta"])
async def healthz() -> dict[str, str]:
    """Liveness: answers without touching any dependency, so load balancers and the Lambda
    Web Adapter's readiness check cost nothing."""
    return {"status": "ok"}


@router.get("/v1/me", tags=["meta"])
async def me(identity: CurrentIdentity) -> dict[str, object]:
    """The caller's identity as Parley sees it."""
    return identity.as_dict()
