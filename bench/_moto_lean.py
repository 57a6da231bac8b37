"""moto's server without its whole-table copy on every TransactWriteItems.

moto backs up each table a transaction touches with ``copy.deepcopy`` before applying it, once
per item, so a transaction costs time in proportion to everything the table holds: 37-62 ms of
moto CPU per chat stream in this benchmark, on the same two cores Parley runs on. DynamoDB has
no such cost. Here the backup keeps a reference instead of a copy, so a failed transaction is
not rolled back; the benchmark's transactions never fail (every measured stream must end with
its end marker, and the run stops otherwise). Pass ``--stock-moto`` to measure with moto as is.

Run as a script: the arguments are moto_server's.
"""

from __future__ import annotations

import copy
import sys
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.server import main


def _deepcopy_except_tables(value: object, memo: dict[int, object] | None = None) -> object:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


dynamodb_models.copy = types.SimpleNamespace(deepcopy=_deepcopy_except_tables, copy=copy.copy)  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.exit(main())
