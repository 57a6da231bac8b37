"""moto as a local DynamoDB: what ``parley dev`` embeds, the tests and the benchmarks run.

``prepare_local_dynamodb`` (here) starts moto on loopback for ``parley dev`` (unless
``AWS_ENDPOINT_URL_DYNAMODB`` names another endpoint, which is then used as it is) and creates
the template's tables. ``start_moto_server`` (``server``) is the server alone;
``patch_moto_dynamodb`` (``patch``) is what both apply to moto first, with the item backup of
``backup``, because moto 5.2.5 as it ships is neither safe under concurrent requests nor cheap
in its transactions:

- ``moto.server.ThreadedMotoServer`` serves each request on a thread of its own, and moto's
  DynamoDB backend takes no lock. Requests interleave: ``copy.deepcopy`` of a table (below)
  iterates its items while another thread adds one, which crashes that request with
  "dictionary changed size during iteration" (a 500); a cancelled transaction puts back a copy
  taken before it began, undoing what other requests committed meanwhile; a condition is
  checked and its write made with other requests in between. DynamoDB applies each request,
  and each transaction, as one step. So one lock is held around ``DynamoHandler.call_action``
  (moto/dynamodb/responses.py), which runs one request's action against the backend: moto
  then does the same.
- ``DynamoDBBackend.transact_write_items`` (moto/dynamodb/models/__init__.py) backs up every
  table a transaction names with ``copy.deepcopy(self.tables[name])``, once per item of the
  transaction, and rolls a cancelled transaction back by putting those copies in place of the
  tables. A transaction then costs in proportion to everything its tables hold, and a long
  session slows down with every message it stores; and as moto keeps every model object it
  makes (``BaseModel.__new__`` in moto/core/common_models.py appends it to
  ``instances_tracked``), each copied item stays in memory for good. Here that copy hands the
  table back itself, so moto's own rollback puts each table in its own place, and the
  transaction is rolled back instead from a backup of the items it writes: a copy of each one
  as it was, or a note that it was absent, put back exactly when moto cancels the transaction
  or raises. While the lock is held nothing else writes, so those items are all a rollback has
  to restore.
- moto stores numbers DynamoDB refuses (``1e300``, 40 digits, ``1e-131``): the patched moto
  refuses them with DynamoDB's ValidationException (``numbers``), so that what production
  cannot store fails here too.

The patch is checked against moto as it is installed (``MotoChangedError`` when a moto upgrade
changes what it wraps), and applies to the process from then on. moto is a development
dependency (requirements-dev.txt), never in the Lambda layer, so it is imported only inside the
functions that use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.apps.dev.localdb.backup import TransactionBackup
from parley.apps.dev.localdb.patch import (
    MotoChangedError,
    check_transaction_backup,
    patch_moto_dynamodb,
)
from parley.apps.dev.localdb.server import MotoServer, start_moto_server
from parley.state.client import new_dynamodb_client
from parley.state.tables import create_tables, table_definitions
from parley.state.template import find_template, load_template

if TYPE_CHECKING:
    from parley.config import Settings

__all__ = [
    "LocalDynamoDB",
    "MotoChangedError",
    "MotoServer",
    "TransactionBackup",
    "check_transaction_backup",
    "patch_moto_dynamodb",
    "prepare_local_dynamodb",
    "start_moto_server",
]

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"


@dataclass
class LocalDynamoDB:
    endpoint: str
    emulated: bool  # True when this process started the emulator
    created_tables: list[str]


def prepare_local_dynamodb(settings: Settings) -> LocalDynamoDB:
    """Use the configured endpoint, or start moto on loopback; then create missing tables."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    emulated = endpoint is None
    if endpoint is None:
        # Another endpoint (DynamoDB Local, say) is used as it is: only the moto this
        # process starts is patched.
        endpoint = start_moto_server().endpoint
        # Every DynamoDB client of this process reaches it, with the local credentials a
        # loopback endpoint implies (parley.state.client), as `parley jobs run` beside it does.
        os.environ[ENDPOINT_VARIABLE] = endpoint
    client = new_dynamodb_client(settings.aws_region, settings.dynamodb_timeout_seconds)
    template = load_template(find_template(settings.template_file))
    created = create_tables(client, settings, table_definitions(template))
    return LocalDynamoDB(endpoint=endpoint, emulated=emulated, created_tables=created)
