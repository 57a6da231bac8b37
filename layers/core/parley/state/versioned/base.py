"""The interface of versioned items: consistent reads, and whole-item writes conditional on
the version read (``parley.state.versioned`` says why)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

__all__ = ["VersionedItem", "VersionedItems"]


@dataclass(frozen=True)
class VersionedItem:
    """A stored item's attributes (key included) and version; version 0 and no attributes
    when nothing was ever written."""

    attributes: dict[str, Any]
    version: int

    @property
    def exists(self) -> bool:
        return self.version > 0


class VersionedItems(ABC):
    """Items keyed by ``{"pk": …, "sk": …}``. Every read sees every write made before it,
    from any environment. Synchronous (the DynamoDB items block; async callers use a worker
    thread), so every backend must be safe to call from several threads at once."""

    @abstractmethod
    def read(self, key: dict[str, str]) -> VersionedItem:
        """The item at ``key``, or version 0 with no attributes."""

    @abstractmethod
    def put(self, key: dict[str, str], read_version: int, attributes: dict[str, Any]) -> int | None:
        """Write the item (``attributes`` and the key) as ``read_version + 1`` if it is still
        at ``read_version`` (for 0: if it does not exist). The new version, or None when
        another writer got there first."""
