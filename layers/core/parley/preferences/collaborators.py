"""What the preferences API works with, installed by the app that serves it (parley.apps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from parley.orgs.cache import OrgSettingsCache
    from parley.preferences.repository import PreferencesRepository

__all__ = ["Preferences", "PreferencesCollaborators"]


@dataclass(frozen=True)
class PreferencesCollaborators:
    repository: PreferencesRepository
    # Each org's panels come with its settings: the app's one cache of them.
    org_settings: OrgSettingsCache


Preferences = Annotated[PreferencesCollaborators, collaborator(PreferencesCollaborators)]
