"""moto's server for the benchmarks, patched as ``parley dev`` patches its embedded moto.

``parley.apps.dev.localdb.patch_moto_dynamodb`` is the one implementation (the tests' moto is
the same): one DynamoDB request at a time, as DynamoDB applies each atomically, and
transactions rolled back from a backup of the items they write instead of moto's
``copy.deepcopy`` of every table they touch, once per item, which made a transaction cost in
proportion to everything the table held: 37-62 ms of moto CPU per chat stream in
gateway_overhead.py, on the same two cores Parley runs on. DynamoDB has no such cost. A
cancelled transaction is still rolled back whole. Pass ``--stock-moto`` to a benchmark to
measure with moto as it ships (``moto_server``).

Run as a script: the arguments are moto_server's.
"""

from __future__ import annotations

import sys

from moto.server import main

from parley.apps.dev.localdb import patch_moto_dynamodb

if __name__ == "__main__":
    patch_moto_dynamodb()
    sys.exit(main())
