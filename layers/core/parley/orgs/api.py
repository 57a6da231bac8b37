"""The caller's org: its settings (administrators, scope ``org:manage``) and its budget (any
member). The org is always the token's ``org`` claim; no path or body names one.

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
from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from parley.auth.identity import Identity
from parley.budget.ledger import AsyncLedger
from parley.http.auth import CurrentIdentity, require_scopes
from parley.http.etag import IfMatch, etag, expected_version
from parley.orgs.cache import OrgSettingsCache
from parley.orgs.repository import OrgSettingsRepository, StoredSettings
from parley.providers.catalog import Catalog

__all__ = ["MANAGE_SCOPE", "router"]

MANAGE_SCOPE = "org:manage"

router = APIRouter(tags=["org"])

Administrator = Annotated[Identity, Depends(require_scopes(MANAGE_SCOPE))]

# The body is documented as a merge patch; application/json is accepted as well.
_MERGE_PATCH = {
    "requestBody": {
        "content": {"application/merge-patch+json": {"schema": {"type": "object"}}},
    }
}


def _cache(request: Request) -> OrgSettingsCache:
    cache: OrgSettingsCache = request.app.state.org_settings
    return cache


def _repository(request: Request) -> OrgSettingsRepository:
    repository: OrgSettingsRepository = request.app.state.org_settings_repository
    return repository


def _ledger(request: Request) -> AsyncLedger:
    ledger: AsyncLedger = request.app.state.ledger
    return ledger


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.model_catalog
    return catalog


def _expected_version(if_match: str | None) -> int | None:
    return expected_version(if_match, read_from="/v1/org/settings")


def _settings_response(stored: StoredSettings) -> JSONResponse:
    return JSONResponse(stored.document(), headers={"ETag": etag(stored.version)})


@router.get("/v1/org/settings", response_class=JSONResponse)
async def read_org_settings(request: Request, identity: Administrator) -> JSONResponse:
    """The org's effective settings, the overrides they come from and their version (also
    the `ETag`). Read from the database, never from a cache, so the ETag is current."""
    stored = await anyio.to_thread.run_sync(_repository(request).get, identity.org_id)
    return _settings_response(stored)


@router.patch("/v1/org/settings", response_class=JSONResponse, openapi_extra=_MERGE_PATCH)
async def patch_org_settings(
    request: Request,
    identity: Administrator,
    patch: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change some settings with a JSON merge patch; `null` returns a field to its default.
    Every model named must be in the deployment's catalog. 422 with the problems when the
    result is not valid (nothing is saved); 412 when `If-Match` is stale."""
    expected = _expected_version(if_match)
    known = set(_catalog(request).names())
    repository = _repository(request)
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
        _cache(request).invalidate(identity.org_id)
    return _settings_response(stored)


@router.delete("/v1/org/settings", response_class=JSONResponse)
async def reset_org_settings(
    request: Request, identity: Administrator, if_match: IfMatch = None
) -> JSONResponse:
    """Return every setting to its default; answers 200 with the defaults and the new ETag."""
    expected = _expected_version(if_match)
    repository = _repository(request)
    try:
        stored = await anyio.to_thread.run_sync(
            lambda: repository.reset(
                identity.org_id, expected_version=expected, updated_by=identity.user_id
            )
        )
    finally:
        _cache(request).invalidate(identity.org_id)
    return _settings_response(stored)


@router.get("/v1/org/budget")
async def read_org_budget(request: Request, identity: CurrentIdentity) -> dict[str, Any]:
    """What the caller may spend: the org's token balance (`null` when the org is unmetered),
    the caller's own spend today (UTC) against the daily cap (`null` when the org has neither
    a balance nor a cap: then nothing is counted against anything, and spend is in the usage
    records), and the rate limits."""
    ledger = _ledger(request)
    org = await _cache(request).get(identity.org_id)
    balance = await ledger.balance(identity.org_id)
    tracked = balance is not None or org.daily_spend_cap_usd is not None
    spent = await ledger.spent_today(identity.org_id, identity.user_id) if tracked else None
    return {
        "org_id": identity.org_id,
        "metered": balance is not None,
        "balance_tokens": balance,
        "low_balance_tokens": org.low_balance_tokens,
        "daily_spend_cap_usd": org.daily_spend_cap_usd,
        "spent_today_usd": spent,
        "rate_limits": org.rate_limits.model_dump(mode="json"),
    }
