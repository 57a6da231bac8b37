"""Versioned documents: one item per document, written whole, conditionally on the
version it was read at (optimistic concurrency).

Org settings and user preferences are both kept this way: every write puts the item at
``read_version + 1`` on condition that it is still at ``read_version`` (or, for version 0, that
it does not exist yet), so two writers that read the same version cannot both win. The version
is what the HTTP APIs send as the ETag. A writer that loses the race re-reads and tries again
when it did not name a version (``save_with_retries``); one that named a version gets a failed
precondition (412), because what it changed was based on a document that is gone.

Versions only go up: resetting a document writes an empty one at the next version rather than
deleting the item, so an old ETag can never match a later document.

Items live behind one small interface (``VersionedItems``): in DynamoDB (``VersionedTable``) or
in memory (``MemoryVersionedItems``); the repositories built on them are the same either way.
"""

from parley.state.versioned.base import VersionedItem, VersionedItems
from parley.state.versioned.documents import (
    HasVersion,
    dump_document,
    load_document,
    save_with_retries,
)
from parley.state.versioned.dynamodb import VersionedTable
from parley.state.versioned.memory import MemoryVersionedItems

__all__ = [
    "HasVersion",
    "MemoryVersionedItems",
    "VersionedItem",
    "VersionedItems",
    "VersionedTable",
    "dump_document",
    "load_document",
    "save_with_retries",
]
