"""What the org settings API works with, installed by the app that serves it (parley.apps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from parley.orgs.cache import OrgSettingsCache
    from parley.orgs.repository import OrgSettingsRepository

__all__ = ["OrgCollaborators", "Orgs"]


@dataclass(frozen=True)
class OrgCollaborators:
    # The per-process cache the request path reads; a write invalidates the org's entry.
    settings: OrgSettingsCache
    repository: OrgSettingsRepository
    # The deployment catalog's model names: the only ones settings may name.
    model_names: frozenset[str]


Orgs = Annotated[OrgCollaborators, collaborator(OrgCollaborators)]
