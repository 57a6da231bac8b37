"""What an org may define in its settings for its users' preferences: panels of its own (each
field's JSON type and limits, the words that tell a chat is about the panel) and defaults."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from parley.bounds import SafeFloat, SafeInt

__all__ = ["FieldName", "PanelDefinitions", "PanelFieldSpec", "PanelName", "PanelSpec"]


class _Strict(BaseModel):
    # Unknown fields are refused: a typo in a setting must be an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


PanelFieldType = Literal["string", "integer", "number", "boolean", "string_list"]
# Panel names are what preference paths start with ("brand.voice"); field names follow the
# built-in panels' camelCase ("defaultTone").
PanelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,59}$")]
Keyword = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)
]
EnumValue = Annotated[str, StringConstraints(max_length=100)] | bool | SafeInt | SafeFloat


class PanelFieldSpec(_Strict):
    """One field of an org-defined preferences panel: its JSON type and limits. ``max_length``
    bounds a string's characters or a string list's items (defaults: 100 and 20)."""

    type: PanelFieldType
    enum: tuple[EnumValue, ...] | None = Field(default=None, min_length=1, max_length=50)
    minimum: SafeFloat | None = None
    maximum: SafeFloat | None = None
    max_length: int | None = Field(default=None, ge=1, le=1000)

    @model_validator(mode="after")
    def _consistent(self) -> PanelFieldSpec:
        numeric = self.type in ("integer", "number")
        if not numeric and (self.minimum is not None or self.maximum is not None):
            raise ValueError("minimum and maximum apply only to integer and number fields")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum must not exceed maximum")
        if self.max_length is not None and self.type not in ("string", "string_list"):
            raise ValueError("max_length applies only to string and string_list fields")
        if self.enum is not None and self.type == "boolean":
            raise ValueError("a boolean field cannot have an enum")
        return self


class PanelSpec(_Strict):
    """A panel an org adds to its users' preferences, and the words that tell the chat a
    message is about it (matched as whole words, case-insensitively)."""

    fields: dict[FieldName, PanelFieldSpec] = Field(min_length=1, max_length=30)
    keywords: tuple[Keyword, ...] = Field(default=(), max_length=30)


class PanelDefinitions(_Strict):
    """What an org adds to its users' preferences, as data: its own ``panels`` and ``defaults``
    per panel and field (``parley.panels.settings.PreferencesSettings`` checks them against
    the panels)."""

    panels: dict[PanelName, PanelSpec] = Field(default_factory=dict, max_length=20)
    defaults: dict[PanelName, dict[FieldName, Any]] = Field(default_factory=dict, max_length=30)
