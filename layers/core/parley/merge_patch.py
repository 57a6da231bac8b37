"""JSON Merge Patch (RFC 7396): how a partial document is laid over another.

Objects merge key by key, recursively; ``None`` (JSON ``null``) removes the key; anything else,
arrays included, replaces the value outright. Org settings lay a patch over an org's stored
overrides and the overrides over the defaults, so the stored document never holds a ``null``
(removing an override returns that field to its default); preferences lay a user's change over
what they set.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["deep_merge"]


def deep_merge(target: Any, patch: Any) -> Any:
    """``patch`` laid over ``target``. Neither argument is changed; the result shares nothing
    with them, so callers may change it freely."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = deep_merge(merged.get(key), value)
    return merged
