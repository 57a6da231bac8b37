"""What one TransactWriteItems writes, saved before it runs and put back when moto cancels it:
the items it names, not the tables they are in."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import StreamShard, Table

__all__ = ["SavedItem", "TransactionBackup"]


@dataclass(frozen=True)
class SavedItem:
    """One item a transaction writes, as it was before: a copy, or None when it was absent."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None


@dataclass
class TransactionBackup:
    """What one TransactWriteItems can change, saved before it runs: the items its Put,
    Update and Delete name (a ConditionCheck writes nothing), and the length of each touched
    table's stream. Proportional to the transaction (at most 100 items), not to its tables."""

    items: list[SavedItem] = field(default_factory=list)
    streams: list[tuple[StreamShard, int]] = field(default_factory=list)

    @classmethod
    def of(
        cls, backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
    ) -> TransactionBackup:
        from moto.dynamodb.exceptions import ResourceNotFoundException
        from moto.dynamodb.models.dynamo_type import DynamoType

        backup = cls()
        seen: set[tuple[str, DynamoType, DynamoType | None]] = set()
        shards: dict[str, StreamShard] = {}
        for entry in transact_items:
            # moto refuses an entry of more than one operation, or an unknown one; what it
            # refuses it does not write, and a missing key or table is its error to report.
            for operation, request in entry.items():
                if operation not in {"Put", "Update", "Delete"} or not isinstance(request, dict):
                    continue
                try:
                    table = backend.get_table(str(request.get("TableName")))
                except ResourceNotFoundException:
                    continue
                attributes = request.get("Item" if operation == "Put" else "Key")
                if not isinstance(attributes, dict) or table.hash_key_attr not in attributes:
                    continue
                hash_key = DynamoType(attributes[table.hash_key_attr])
                range_key = None
                if table.range_key_attr is not None:
                    if table.range_key_attr not in attributes:
                        continue
                    range_key = DynamoType(attributes[table.range_key_attr])
                if (table.name, hash_key, range_key) in seen:
                    continue  # moto cancels a transaction that names an item twice
                seen.add((table.name, hash_key, range_key))
                stored = _stored_item(table, hash_key, range_key)
                saved = None if stored is None else copy.deepcopy(stored)
                backup.items.append(SavedItem(table, hash_key, range_key, saved))
                if table.stream_shard is not None:
                    shards[table.name] = table.stream_shard
        backup.streams = [(shard, len(shard.items)) for shard in shards.values()]
        return backup

    def restore(self) -> None:
        """Put every saved item back as it was, and drop the stream records written since."""
        for saved in self.items:
            # Table.items maps a hash key to its Item, or (with a range key) to a dict of them.
            items: dict[DynamoType, Any] = saved.table.items
            if saved.range_key is None:
                if saved.item is None:
                    items.pop(saved.hash_key, None)
                else:
                    items[saved.hash_key] = saved.item
                continue
            partition = items.get(saved.hash_key)
            if saved.item is not None:
                if partition is None:
                    partition = items[saved.hash_key] = {}
                partition[saved.range_key] = saved.item
            elif partition is not None:
                partition.pop(saved.range_key, None)
                if not partition:
                    del items[saved.hash_key]
        for shard, length in self.streams:
            del shard.items[length:]


def _stored_item(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    # Read table.items with .get: Table.get_item indexes its defaultdict, which adds an empty
    # partition for a missing hash key.
    items: dict[DynamoType, Any] = table.items
    stored = items.get(hash_key)
    if range_key is not None and stored is not None:
        stored = stored.get(range_key)
    found: Item | None = stored
    return found
