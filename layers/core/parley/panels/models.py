"""The built-in preference panels (``content``, ``pictures``, ``video``): their models, the
values each field takes, what a user starts with, and the limits every panel's values share.

A field that takes one of a known set of values declares the set as a ``Literal``, so that the
model validates it and its JSON Schema says it (``enum``; ``GET /v1/preferences`` shows it as
the field's ``options``). ``defaultDuration`` is a range of seconds, not a set.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BUILTIN_DEFAULTS",
    "BUILTIN_OPTIONS",
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


# The options of the built-in fields. Exact values (case matters): a client sends what its form
# offers. Widening a set is safe; narrowing one hides stored values the set no longer has.
Tone = Literal[
    "Professional",
    "Friendly",
    "Casual",
    "Formal",
    "Playful",
    "Humorous",
    "Inspirational",
    "Persuasive",
    "Informative",
    "Empathetic",
]
Persona = Literal[
    "Generic",
    "Marketer",
    "Educator",
    "Entrepreneur",
    "Influencer",
    "Storyteller",
    "Expert",
    "Journalist",
]
Platform = Literal[
    "Facebook", "Instagram", "LinkedIn", "X", "TikTok", "YouTube", "Pinterest", "Threads"
]
PictureStyle = Literal[
    "modern",
    "watercolor",
    "oil",
    "pencil",
    "ink",
    "flat",
    "photorealistic",
    "cartoon",
    "anime",
    "minimalist",
    "vintage",
    "3d",
]
PictureProvider = Literal["flux", "dalle", "ideogram", "midjourney", "stable-diffusion", "imagen"]
VideoProvider = Literal["runway", "pika", "luma", "sora", "veo", "kling"]


class Panel(BaseModel):
    """The base of every panel's model, built in or an org's."""

    # strict: a form sends `5`, not `"5"`; a string where a number belongs is a client bug.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ContentPanel(Panel):
    defaultTone: Tone | None = None  # the clients' field names, camelCase
    defaultPersona: Persona | None = None
    defaultPlatforms: Annotated[list[Platform], Field(max_length=MAX_LIST)] | None = None


class PicturesPanel(Panel):
    defaultStyle: PictureStyle | None = None
    defaultProvider: PictureProvider | None = None


class VideoPanel(Panel):
    defaultDuration: Annotated[int, Field(ge=1, le=600)] | None = None  # seconds
    defaultProvider: VideoProvider | None = None


BUILTIN_PANELS: dict[str, type[BaseModel]] = {
    "content": ContentPanel,
    "pictures": PicturesPanel,
    "video": VideoPanel,
}
# panel → field → its options, for whoever needs them as data.
BUILTIN_OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "content": {
        "defaultTone": get_args(Tone),
        "defaultPersona": get_args(Persona),
        "defaultPlatforms": get_args(Platform),
    },
    "pictures": {
        "defaultStyle": get_args(PictureStyle),
        "defaultProvider": get_args(PictureProvider),
    },
    "video": {"defaultProvider": get_args(VideoProvider)},
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
