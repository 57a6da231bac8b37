"""The preferences function's app: ``/v1/preferences``, behind Mangum in Lambda."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.apps.orgs import org_settings_cache
from parley.apps.parts import Parts, build_app
from parley.config import get_settings
from parley.preferences.api import router
from parley.preferences.collaborators import PreferencesCollaborators
from parley.preferences.repository import PreferencesRepository
from parley.state.versioned import VersionedTable

if TYPE_CHECKING:
    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.auth.verifier import TokenVerifier
    from parley.config import Settings
    from parley.orgs.cache import OrgSettingsCache
    from parley.state.versioned import VersionedItems

__all__ = ["create_preferences_app", "preferences_parts"]


def create_preferences_app(
    settings: Settings | None = None,
    *,
    client: DynamoDBClient | None = None,
    verifier: TokenVerifier | None = None,
    org_cache_seconds: float | None = None,
    documents: VersionedItems | None = None,
) -> FastAPI:
    """``documents``: where preferences and org settings are kept (``parley.apps.stores``);
    default: the settings' accounts table, through ``client``."""
    settings = settings or get_settings()
    documents = documents or VersionedTable(settings.accounts_table, client=client)
    cache = org_settings_cache(settings, documents, seconds=org_cache_seconds)
    return build_app(
        preferences_parts(documents, org_settings=cache),
        title="Parley preferences",
        settings=settings,
        verifier=verifier,
    )


def preferences_parts(documents: VersionedItems, *, org_settings: OrgSettingsCache) -> Parts:
    """The preferences routes, on the preferences kept in ``documents``; ``org_settings``
    gives each org's panels."""
    return Parts(
        routers=(router,),
        collaborators=(PreferencesCollaborators(PreferencesRepository(documents), org_settings),),
    )
