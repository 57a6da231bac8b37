"""Versioned items in memory: one process only (tests, a single development process).

Items are stored as DynamoDB would store them (``to_item``'s checks and its round trip: an
unstorable value is the same 422) and read as copies, as every read of a table is."""

from __future__ import annotations

import copy
import threading
from typing import Any

from parley.state.versioned.base import VersionedItem, VersionedItems

__all__ = ["MemoryVersionedItems"]


class MemoryVersionedItems(VersionedItems):
    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, Any]] = {}
        # Repositories run in worker threads: a version check and its write must be one step.
        self._lock = threading.Lock()

    def read(self, key: dict[str, str]) -> VersionedItem:
        with self._lock:
            item = self._items.get(_address(key))
            values = copy.deepcopy(item) if item is not None else None
        if values is None:
            return VersionedItem(attributes={}, version=0)
        return VersionedItem(attributes=values, version=int(values.get("version", 0)))

    def put(self, key: dict[str, str], read_version: int, attributes: dict[str, Any]) -> int | None:
        # Imported here, as the DynamoDB items do: boto3's serializer costs cold start.
        from parley.state.items import from_item, to_item

        version = read_version + 1
        item = from_item(to_item({**attributes, **key, "version": version}))
        with self._lock:
            current = self._items.get(_address(key))
            if current is None:
                still_there = read_version == 0
            else:
                still_there = read_version > 0 and current.get("version") == read_version
            if not still_there:
                return None
            self._items[_address(key)] = item
        return version


def _address(key: dict[str, str]) -> tuple[str, str]:
    return key["pk"], key["sk"]
