"""The org settings every app that routes by them shares: the repository, the per-process
cache the request path reads, and the catalog's names that settings may use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.orgs.cache import OrgSettingsCache
from parley.orgs.collaborators import OrgCollaborators
from parley.orgs.repository import OrgSettingsRepository

if TYPE_CHECKING:
    from parley.config import Settings
    from parley.providers.catalog import Catalog
    from parley.state.versioned import VersionedItems

__all__ = ["org_parts", "org_settings_cache"]


def org_settings_cache(
    settings: Settings, documents: VersionedItems, *, seconds: float | None = None
) -> OrgSettingsCache:
    """A cache of each org's settings (kept in ``documents``), kept ``seconds`` (the
    settings' default)."""
    return OrgSettingsCache(
        OrgSettingsRepository(documents),
        ttl_seconds=settings.org_settings_cache_seconds if seconds is None else seconds,
    )


def org_parts(
    settings: Settings,
    documents: VersionedItems,
    *,
    catalog: Catalog,
    cache: OrgSettingsCache | None = None,
) -> OrgCollaborators:
    """The org settings API's collaborators, on the settings kept in ``documents``; ``cache``:
    one to share, else a new one."""
    return OrgCollaborators(
        settings=cache or org_settings_cache(settings, documents),
        repository=OrgSettingsRepository(documents),
        model_names=frozenset(catalog.names()),
    )
