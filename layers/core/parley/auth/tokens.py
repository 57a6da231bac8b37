"""Minting development tokens (``parley token``, ``parley dev``, tests)."""

from __future__ import annotations

import time

import jwt

__all__ = ["mint_token"]


def mint_token(
    secret: str,
    *,
    user_id: str,
    org_id: str | None = None,
    scopes: str = "",
    ttl_seconds: int = 12 * 3600,
    issuer: str | None = None,
    audience: str | None = None,
    now: float | None = None,
) -> str:
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, object] = {"sub": user_id, "iat": issued_at, "exp": issued_at + ttl_seconds}
    if org_id:
        claims["org"] = org_id
    if scopes:
        claims["scope"] = scopes
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")
