"""Calling an ASGI app in-process with httpx, for tests of one app's HTTP behaviour."""

from __future__ import annotations

import httpx

from parley.auth import mint_token
from parley.config import DEV_JWT_SECRET


def client_for(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://parley.test")


def bearer(
    user_id: str = "user-1", *, org_id: str | None = None, scopes: str = ""
) -> dict[str, str]:
    token = mint_token(DEV_JWT_SECRET, user_id=user_id, org_id=org_id, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}
