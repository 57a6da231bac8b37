"""The caller's org's settings (administrators, scope ``org:manage``). The org is always the
token's ``org`` claim; no path or body names one.

Settings are read and written with their version as a strong ETag, so two administrators
editing at once find out (``If-Match``: 412 when stale) instead of overwriting each other.
PATCH takes a JSON merge patch (RFC 7396): objects merge, ``null`` returns a field to its
default. DELETE returns every field to its default and answers 200 with the new document and
ETag (not 204), so a client can keep editing conditionally without another GET.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from parley.http.auth import Administrator
from parley.http.etag import IfMatch, etag, expected_version
from parley.orgs.collaborators import Orgs
from parley.orgs.repository import StoredSettings

__all__ = ["router"]


router = APIRouter(tags=["org"])


# The body is documented as a merge patch; application/json is accepted as well.
_MERGE_PATCH = {
    "requestBody": {
        "content": {"application/merge-patch+json": {"schema": {"type": "object"}}},
    }
}


def _expected_version(if_match: str | None) -> int | None:
    return expected_version(if_match, read_from="/v1/org/settings")


def _settings_response(stored: StoredSettings) -> JSONResponse:
    return JSONResponse(stored.document(), headers={"ETag": etag(stored.version)})


@router.get("/v1/org/settings", response_class=JSONResponse)
async def read_org_settings(orgs: Orgs, identity: Administrator) -> JSONResponse:
    """The org's effective settings, the overrides they come from and their version (also
    the `ETag`). Read from the database, never from a cache, so the ETag is current."""
    stored = await anyio.to_thread.run_sync(orgs.repository.get, identity.org_id)
    return _settings_response(stored)


@router.patch("/v1/org/settings", response_class=JSONResponse, openapi_extra=_MERGE_PATCH)
async def patch_org_settings(
    orgs: Orgs,
    identity: Administrator,
    patch: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change some settings with a JSON merge patch; `null` returns a field to its default.
    Every model named must be in the deployment's catalog. 422 with the problems when the
    result is not valid (nothing is saved); 412 when `If-Match` is stale."""
    expected = _expected_version(if_match)
    known = set(orgs.model_names)
    repository = orgs.repository
    try:
        stored = await anyio.to_thread.run_sync(
            lambda: repository.update(
                identity.org_id,
                patch,
                expected_version=expected,
                updated_by=identity.user_id,
                known_models=known,
            )
        )
    finally:
        # Even a failed write may have raced a successful one: re-read next time.
        orgs.settings.invalidate(identity.org_id)
    return _settings_response(stored)


@router.delete("/v1/org/settings", response_class=JSONResponse)
async def reset_org_settings(
    orgs: Orgs, identity: Administrator, if_match: IfMatch = None
) -> JSONResponse:
    """Return every setting to its default; answers 200 with the defaults and the new ETag."""
    expected = _expected_version(if_match)
    repository = orgs.repository
    try:
        stored = await anyio.to_thread.run_sync(
            lambda: repository.reset(
                identity.org_id, expected_version=expected, updated_by=identity.user_id
            )
        )
    finally:
        orgs.settings.invalidate(identity.org_id)
    return _settings_response(stored)
