"""Turning verified JWT claims into an ``Identity``."""

from __future__ import annotations

from typing import Any

from parley.auth.identity import Identity
from parley.errors import Unauthorized
from parley.text import is_valid_text

__all__ = ["identity_from_claims"]

_MAX_ID_LENGTH = 256


def identity_from_claims(claims: dict[str, Any], *, org_claim: str, default_org: str) -> Identity:
    user_id = _id_claim(claims, "sub")
    if user_id is None:
        raise Unauthorized("The token has no `sub` claim.")
    org_id = _id_claim(claims, org_claim) or default_org
    return Identity(user_id=user_id, org_id=org_id, scopes=_scopes(claims.get("scope")))


def _id_claim(claims: dict[str, Any], name: str) -> str | None:
    """The claim's value, None when absent; a present but unusable value rejects the token."""
    value = claims.get(name)
    if value is None:
        return None
    # Ids become parts of table keys and log lines: short, valid text, free of the key
    # separator. Falling back to a default for a malformed org would file the caller under
    # someone else's org.
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _MAX_ID_LENGTH
        or "#" in value
        or not is_valid_text(value)
    ):
        raise Unauthorized(f"The token's `{name}` claim is not a usable id.")
    return value


def _scopes(raw: object) -> frozenset[str]:
    # OAuth puts scopes in one space-separated string; some providers send a list instead.
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list):
        return frozenset(item for item in raw if isinstance(item, str) and item)
    return frozenset()
