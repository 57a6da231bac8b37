"""The built-in preference panels (``content``, ``pictures``, ``video``): their models, what a
user starts with, and the limits every panel's values share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "BUILTIN_DEFAULTS",
    "BUILTIN_PANELS",
    "DEFAULT_TIER",
    "MAX_FAVORITE_PANELS",
    "MAX_LIST",
    "MAX_STRING",
    "Panel",
]

DEFAULT_TIER = "demo"
MAX_FAVORITE_PANELS = 10
MAX_STRING = 100  # characters of a string value, unless the field says otherwise
MAX_LIST = 20  # items of a list value, unless the field says otherwise

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_STRING)]
TextList = Annotated[list[Text], Field(max_length=MAX_LIST)]


class Panel(BaseModel):
    """The base of every panel's model, built in or an org's."""

    # strict: a form sends `5`, not `"5"`; a string where a number belongs is a client bug.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ContentPanel(Panel):
    defaultTone: Text | None = None  # the clients' field names, camelCase
    defaultPersona: Text | None = None
    defaultPlatforms: TextList | None = None


class PicturesPanel(Panel):
    defaultStyle: Text | None = None
    defaultProvider: Text | None = None


class VideoPanel(Panel):
    defaultDuration: Annotated[int, Field(ge=1, le=600)] | None = None  # seconds
    defaultProvider: Text | None = None


BUILTIN_PANELS: dict[str, type[BaseModel]] = {
    "content": ContentPanel,
    "pictures": PicturesPanel,
    "video": VideoPanel,
}
# What every user starts with (source "default"): the values the clients' forms show today.
BUILTIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "content": {
        "defaultTone": "Professional",
        "defaultPersona": "Generic",
        "defaultPlatforms": ["Facebook", "Instagram"],
    },
    "pictures": {"defaultStyle": "modern", "defaultProvider": "flux"},
    "video": {"defaultDuration": 5, "defaultProvider": "runway"},
}
