"""The caller's own preferences: ``GET``/``PUT /v1/preferences`` and
``POST /v1/preferences/reset``. The user and org are always the token's; no path or body
names one, so nobody can read or write another user's preferences.

Reads and writes carry the document's version as a strong ETag; ``If-Match`` makes a write
conditional (412 when stale, nothing written). PUT takes a partial document in the response's
own shape, merged like a JSON merge patch (RFC 7396): objects merge, ``null`` removes a value
(the field falls back to what was learned, the org's default, the product's default).
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from parley.auth.scopes import USERS_MANAGE
from parley.errors import ValidationFailed
from parley.http.auth import CurrentIdentity
from parley.http.etag import IfMatch, etag, expected_version
from parley.panels import PanelRegistry
from parley.preferences.collaborators import Preferences, PreferencesCollaborators
from parley.preferences.effective import preferences_document
from parley.preferences.repository import StoredPreferences

__all__ = ["router"]

# The scope that may change a user's tier (an entitlement, not a preference).
_PATH = "/v1/preferences"

router = APIRouter(tags=["preferences"])


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    panels: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Reset only these panels; every panel (and the favourites) if absent.",
    )


async def _panels(preferences: PreferencesCollaborators, org_id: str) -> PanelRegistry:
    # The org settings cache (parley.orgs.cache): its panels, at most its TTL old.
    return PanelRegistry.for_org(await preferences.org_settings.get(org_id))


def _response(
    stored: StoredPreferences, registry: PanelRegistry, *, explain: bool = False
) -> JSONResponse:
    return JSONResponse(
        preferences_document(stored, registry, explain=explain),
        headers={"ETag": etag(stored.version), "Cache-Control": "private, no-cache"},
    )


@router.get(_PATH, response_class=JSONResponse)
async def read_preferences(
    preferences: Preferences,
    identity: CurrentIdentity,
    explain: Annotated[
        bool,
        Query(
            description="Also answer `explanations`: per learned value in effect, the weighted "
            "support of its best options (highest first), its messages and confidence."
        ),
    ] = False,
) -> JSONResponse:
    """The caller's effective preferences (per field: what they set, else what was learned,
    else the org's default, else the product's), `learned` (path → confidence, where the
    learned value is in effect), `learned_details` (the same paths → `value`, `confidence`,
    `messages`, `learned_at`), `sources` (path → `user`, `learned`, `org` or `default`),
    `panels` (each panel's fields: `type`, `options` where it takes one of a set, `minimum`,
    `maximum`, `max_length`) and `version` (also the `ETag`). With `explain=true`, also
    `explanations` (the learned paths → `value`, `confidence`, `messages`, `support`:
    `[{value, weight}]`, highest first; `messages` and `support` are null for values learned
    before they were recorded)."""
    registry = await _panels(preferences, identity.org_id)
    stored = await anyio.to_thread.run_sync(
        preferences.repository.get, identity.org_id, identity.user_id
    )
    return _response(stored, registry, explain=explain)


@router.put(_PATH, response_class=JSONResponse)
async def update_preferences(
    preferences: Preferences,
    identity: CurrentIdentity,
    patch: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
) -> JSONResponse:
    """Merge a partial document (`preferences`, `tier`, `favorite_panels`) into what the
    caller set; `null` removes a value. 422 with each problem's path when the result is not
    valid; 412 when `If-Match` is stale; 403 when it changes `tier` without `users:manage`."""
    expected = expected_version(if_match, read_from=_PATH)
    registry = await _panels(preferences, identity.org_id)
    repository = preferences.repository
    stored = await anyio.to_thread.run_sync(
        lambda: repository.update(
            identity.org_id,
            identity.user_id,
            patch,
            expected_version=expected,
            panels=registry,
            may_change_tier=identity.has_scopes(USERS_MANAGE),
        )
    )
    return _response(stored, registry)


@router.post(f"{_PATH}/reset", response_class=JSONResponse)
async def reset_preferences(
    preferences: Preferences,
    identity: CurrentIdentity,
    body: Annotated[ResetRequest | None, Body()] = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Forget what the caller set and what was learned about them (all panels, or only
    `panels`); the tier stays. Answers 200 with the new document and ETag."""
    expected = expected_version(if_match, read_from=_PATH)
    registry = await _panels(preferences, identity.org_id)
    panels = None if body is None else body.panels
    if panels is not None:
        unknown = [name for name in panels if name not in registry.models]
        if unknown:
            raise ValidationFailed(
                f"panels: unknown panel {unknown[0]!r}",
                details=[
                    {
                        "loc": ["body", "panels", index],
                        "msg": "unknown panel",
                        "type": "unknown_panel",
                    }
                    for index, name in enumerate(panels)
                    if name in unknown
                ],
            )
    repository = preferences.repository
    stored = await anyio.to_thread.run_sync(
        lambda: repository.reset(
            identity.org_id, identity.user_id, expected_version=expected, panels=panels
        )
    )
    return _response(stored, registry)
