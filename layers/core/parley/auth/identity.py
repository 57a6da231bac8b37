"""Who is calling: the identity every request-path read and write is keyed by."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Identity"]


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller. Keys are derived from ``user_id``/``org_id``, never from a body."""

    user_id: str
    org_id: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has_scopes(self, *required: str) -> bool:
        return set(required) <= self.scopes

    def as_dict(self) -> dict[str, object]:
        return {"user_id": self.user_id, "org_id": self.org_id, "scopes": sorted(self.scopes)}
