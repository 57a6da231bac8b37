"""An org's panel definitions as its settings validate them: the built-in panels cannot be
redefined, and every default must be a value of the panel and field it names."""

from __future__ import annotations

from pydantic import model_validator

from parley.panels.models import BUILTIN_PANELS
from parley.panels.registry import PanelRegistry
from parley.panels.spec import PanelDefinitions

__all__ = ["PreferencesSettings"]


class PreferencesSettings(PanelDefinitions):
    """What an org adds to its users' preferences: its own ``panels`` (the built-in
    ``content``, ``pictures`` and ``video`` cannot be redefined) and ``defaults`` per panel and
    field, which apply to every member who has not set or been learned a value (source
    ``org``). Defaults are validated against the panel they name."""

    @model_validator(mode="after")
    def _panels_and_defaults(self) -> PreferencesSettings:
        redefined = sorted(set(self.panels) & set(BUILTIN_PANELS))
        if redefined:
            raise ValueError(f"built-in panels cannot be redefined: {redefined}")
        PanelRegistry.for_preferences(self).check_defaults(self.defaults)
        return self
