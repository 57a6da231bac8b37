"""Preference panels: the built-in ones, the panels and defaults an org may define, and the
registry that validates a user's values (and a chat's choices) against one org's panels and
describes their fields and options.

Below ``orgs`` (whose settings hold an org's definitions) and ``preferences`` (which stores and
learns the values): both use the panels, and the panels use neither.
"""

from parley.panels.models import (
    BUILTIN_DEFAULTS,
    BUILTIN_OPTIONS,
    BUILTIN_PANELS,
    DEFAULT_TIER,
    MAX_FAVORITE_PANELS,
    MAX_LIST,
    MAX_STRING,
)
from parley.panels.registry import HasPanels, PanelRegistry, split_path
from parley.panels.settings import PreferencesSettings
from parley.panels.spec import FieldName, PanelDefinitions, PanelFieldSpec, PanelName, PanelSpec

__all__ = [
    "BUILTIN_DEFAULTS",
    "BUILTIN_OPTIONS",
    "BUILTIN_PANELS",
    "DEFAULT_TIER",
    "MAX_FAVORITE_PANELS",
    "MAX_LIST",
    "MAX_STRING",
    "FieldName",
    "HasPanels",
    "PanelDefinitions",
    "PanelFieldSpec",
    "PanelName",
    "PanelRegistry",
    "PanelSpec",
    "PreferencesSettings",
    "split_path",
]
