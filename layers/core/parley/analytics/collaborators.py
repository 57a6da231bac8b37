"""What the analytics API works with, installed by the app that serves it (parley.apps)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parley.analytics.store import RollupStore
    from parley.orgs.cache import OrgSettingsCache
    from parley.orgs.settings import OrgSettings
    from parley.providers.catalog import Catalog, ModelSpec

__all__ = ["Analytics", "AnalyticsCollaborators"]


@dataclass(frozen=True)
class AnalyticsCollaborators:
    rollups: RollupStore
    catalog: Catalog
    # Each org's settings (its routes, for the recommender's rules): the app's one cache.
    org_settings: OrgSettingsCache
    # The models a route tries for an org, in order, those the deployment can call
    # (``parley.routing.chains``, built by the app: analytics may not import routing).
    chain: Callable[[OrgSettings, str], Sequence[ModelSpec]]
    # The same, whether this deployment can call them or not (what a route means, for the
    # savings against ``smart``).
    configured_chain: Callable[[OrgSettings, str], Sequence[ModelSpec]]
    clock: Callable[[], float] = field(default=time.time)


Analytics = Annotated[AnalyticsCollaborators, collaborator(AnalyticsCollaborators)]
