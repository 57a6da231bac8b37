"""FastAPI dependencies that give handlers the caller's identity and check scopes.

Missing or bad token: 401. A valid token without the scope: 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parley.auth.identity import Identity
from parley.auth.scopes import ANALYTICS_VIEW, OPS_MANAGE, OPS_VIEW, ORG_MANAGE, USERS_MANAGE
from parley.auth.verifier import TokenVerifier
from parley.errors import Forbidden, Unauthorized
from parley.http.collaborators import collaborator
from parley.telemetry import bind_request_keys

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = [
    "Administrator",
    "Analyst",
    "CurrentIdentity",
    "OperationsManager",
    "Operator",
    "Reviewer",
    "current_identity",
    "require_scopes",
]

# auto_error=False: a missing header must be our 401 body, not FastAPI's own 403.
_bearer = HTTPBearer(auto_error=False, description="A JWT; `parley token` mints one locally.")


async def current_identity(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    verifier: Annotated[TokenVerifier, collaborator(TokenVerifier)],
) -> Identity:
    # async on purpose: keys bound here must land in the request's own context, and sync
    # dependencies run in a worker thread whose context changes are discarded.
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send `Authorization: Bearer <token>`.")
    identity = await verifier.verify_async(credentials.credentials)
    bind_request_keys(user_id=identity.user_id, org_id=identity.org_id)
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


def require_scopes(*scopes: str) -> Callable[[Identity], Awaitable[Identity]]:
    """A dependency that admits only tokens holding every one of ``scopes``."""

    async def dependency(identity: CurrentIdentity) -> Identity:
        missing = sorted(set(scopes) - identity.scopes)
        if missing:
            raise Forbidden(f"This needs the scope {' '.join(missing)!r}.")
        return identity

    return dependency


# The callers of each scope (parley.auth.scopes), as a route's parameter type.
Analyst = Annotated[Identity, Depends(require_scopes(ANALYTICS_VIEW))]
Reviewer = Annotated[Identity, Depends(require_scopes(USERS_MANAGE))]
Administrator = Annotated[Identity, Depends(require_scopes(ORG_MANAGE))]
Operator = Annotated[Identity, Depends(require_scopes(OPS_VIEW))]
OperationsManager = Annotated[Identity, Depends(require_scopes(OPS_MANAGE))]
