"""``/v1/analytics``: the org's figures, read from its daily rollups (``analytics:view``).
The org is always the token's."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["analytics"])
