"""parley.apps.dev.localdb's moto, the DynamoDB of ``parley dev``, the tests and the benchmarks: a
cancelled transaction leaves every item as it was, exactly as moto as it ships does, from a
backup of the items it writes rather than copies of whole tables; and concurrent transactions
are applied one at a time, where moto as it ships loses writes.

The patched moto is the session's (tests/conftest.py ``moto_endpoint``, in this process); moto
as it ships runs in its own process, the only way to have both at once."""

from __future__ import annotations

import copy
import inspect
import json
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from parley.apps.dev.localdb import MotoChangedError, check_transaction_backup, patch_moto_dynamodb
from parley.apps.dev.localdb import backup as localdb_backup
from parley.apps.dev.localdb import patch as localdb_patch
from tests.conftest import REPO
from tests.support.devserver import clean_env
from tests.support.localdb import dynamodb_at, fill, stock_moto

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture(scope="module")
def stock_endpoint() -> Iterator[str]:
    with stock_moto() as endpoint:
        yield endpoint


@pytest.fixture
def lean(moto_endpoint: str) -> DynamoDBClient:
    return dynamodb_at(moto_endpoint)


@pytest.fixture
def stock(stock_endpoint: str) -> DynamoDBClient:
    return dynamodb_at(stock_endpoint)


def create_table(client: DynamoDBClient, *, range_key: bool = True) -> str:
    name = f"localdb-{uuid.uuid4().hex[:8]}"
    keys = [("pk", "HASH"), ("sk", "RANGE")] if range_key else [("pk", "HASH")]
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": a, "KeyType": k} for a, k in keys],  # type: ignore[misc]
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def key(pk: str, *, range_key: bool) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "1"}} if range_key else {"pk": {"S": pk}}


def stored(client: DynamoDBClient, table: str) -> list[dict[str, Any]]:
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: str(sorted(item.items())))


# The first item of each transaction; "a" exists with v=old, n=1, and "new" does not.
FIRST_ITEMS: dict[str, Any] = {
    "Put over an existing item": lambda t, k: {
        "Put": {"TableName": t, "Item": {**k("a"), "v": {"S": "replaced"}}}
    },
    "Update": lambda t, k: {
        "Update": {
            "TableName": t,
            "Key": k("a"),
            "UpdateExpression": "SET v = :v ADD n :one REMOVE w",
            "ExpressionAttributeValues": {":v": {"S": "updated"}, ":one": {"N": "1"}},
        }
    },
    "Delete": lambda t, k: {"Delete": {"TableName": t, "Key": k("a")}},
    "Put of a new item": lambda t, k: {
        "Put": {
            "TableName": t,
            "Item": {**k("new"), "v": {"S": "new"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    },
    "Update of a new item": lambda t, k: {
        "Update": {
            "TableName": t,
            "Key": k("new"),
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"S": "created"}},
        }
    },
}


def failing_second_item(table: str, k: Any) -> dict[str, Any]:
    """An update of the existing "b" whose condition fails, asking for the item back."""
    return {
        "Update": {
            "TableName": table,
            "Key": k("b"),
            "UpdateExpression": "SET v = :v",
            "ConditionExpression": "attribute_not_exists(pk)",
            "ExpressionAttributeValues": {":v": {"S": "never"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


@dataclass
class Outcome:
    error: dict[str, Any]
    reasons: list[dict[str, Any]]
    items: list[dict[str, Any]]
    before: list[dict[str, Any]] = field(default_factory=list)


def run_transaction(
    client: DynamoDBClient, first: str, *, range_key: bool, second: str = "fails"
) -> Outcome:
    table = create_table(client, range_key=range_key)

    def k(pk: str) -> dict[str, Any]:
        return key(pk, range_key=range_key)

    client.put_item(
        TableName=table, Item={**k("a"), "v": {"S": "old"}, "n": {"N": "1"}, "w": {"S": "w"}}
    )
    client.put_item(TableName=table, Item={**k("b"), "v": {"S": "old"}})
    before = stored(client, table)
    items = [FIRST_ITEMS[first](table, k)]
    # "fails": b's condition fails; "repeats": the same item again, which moto refuses (a
    # ValidationException) after applying the first.
    items.append(
        failing_second_item(table, k) if second == "fails" else FIRST_ITEMS[first](table, k)
    )
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=items)
    response = raised.value.response
    return Outcome(
        error=response["Error"],
        reasons=response.get("CancellationReasons", []),  # type: ignore[typeddict-item]
        items=stored(client, table),
        before=before,
    )


@pytest.mark.parametrize("range_key", [True, False], ids=["hash and range key", "hash key"])
@pytest.mark.parametrize("first", list(FIRST_ITEMS))
def test_a_cancelled_transaction_leaves_every_item_as_moto_as_it_ships_does(
    lean: DynamoDBClient, stock: DynamoDBClient, first: str, range_key: bool
) -> None:
    patched, shipped = (run_transaction(c, first, range_key=range_key) for c in (lean, stock))
    assert patched.error["Code"] == "TransactionCanceledException"
    b = key("b", range_key=range_key)
    assert patched.reasons == [
        {"Code": "None"},
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": {**b, "v": {"S": "old"}},
        },
    ]
    assert patched.items == patched.before  # "a" as it was, no "new", "b" untouched
    assert (patched.error, patched.reasons, patched.items) == (
        shipped.error,
        shipped.reasons,
        shipped.items,
    )


@pytest.mark.parametrize("first", ["Put over an existing item", "Update", "Put of a new item"])
def test_a_transaction_refused_after_its_first_write_is_rolled_back_too(
    lean: DynamoDBClient, stock: DynamoDBClient, first: str
) -> None:
    # moto applies the first item, then refuses the second naming the same item.
    patched, shipped = (
        run_transaction(c, first, range_key=True, second="repeats") for c in (lean, stock)
    )
    assert patched.error["Code"] == "ValidationException"
    assert patched.items == patched.before
    assert (patched.error, patched.items) == (shipped.error, shipped.items)


def test_a_transaction_that_succeeds_writes_what_moto_as_it_ships_writes(
    lean: DynamoDBClient, stock: DynamoDBClient
) -> None:
    outcomes = []
    for client in (lean, stock):
        table = create_table(client)
        k = key("a", range_key=True)
        b = key("b", range_key=True)
        client.put_item(TableName=table, Item={**k, "n": {"N": "1"}})
        client.put_item(TableName=table, Item={**b, "n": {"N": "5"}})
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": k,
                        "UpdateExpression": "ADD n :one",
                        "ConditionExpression": "n = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": table, "Item": key("new", range_key=True)}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": b,
                        "ConditionExpression": "n > :z",
                        "ExpressionAttributeValues": {":z": {"N": "0"}},
                    }
                },
            ]
        )
        outcomes.append(stored(client, table))
    written = [{**key("a", range_key=True), "n": {"N": "2"}}, {**b, "n": {"N": "5"}}]
    assert outcomes[0] == outcomes[1] == [*written, key("new", range_key=True)]


class CopyRecorder:
    """Stands in for a ``copy`` module and records what ``deepcopy`` is asked to copy, and
    what it returned."""

    def __init__(self, copier: Any) -> None:
        self.copier = copier
        self.asked: list[Any] = []
        self.returned: list[Any] = []

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        result = self.copier.deepcopy(value, memo)
        self.asked.append(value)
        self.returned.append(result)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.copier, name)


def test_a_transaction_copies_the_items_it_writes_and_not_the_thousands_beside_them(
    lean: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.dynamodb.models as moto_models
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    table = create_table(lean)
    fill(lean, table, 3000, partitions=3)
    a, b = {"pk": {"S": "FILL#0"}, "sk": {"S": "a"}}, {"pk": {"S": "FILL#0"}, "sk": {"S": "b"}}
    for item in (a, b):
        lean.put_item(TableName=table, Item={**item, "v": {"S": "old"}})
    before = stored(lean, table)
    # What moto's transact_write_items asks its `copy` to copy, and what is copied in the end
    # (parley.apps.dev.localdb's `copy`: the backup's own copies, and what the stand-in passes on).
    moto_asked = CopyRecorder(moto_models.copy)
    copied = CopyRecorder(copy)
    monkeypatch.setattr(moto_models, "copy", moto_asked)
    monkeypatch.setattr(localdb_backup, "copy", copied)
    monkeypatch.setattr(localdb_patch, "copy", copied)

    with pytest.raises(ClientError, match="TransactionCanceled"):
        lean.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**a, "v": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": b,
                        "UpdateExpression": "SET v = :v",
                        "ConditionExpression": "v = :other",
                        "ExpressionAttributeValues": {
                            ":v": {"S": "new"},
                            ":other": {"S": "other"},
                        },
                    }
                },
            ]
        )

    # moto still backs up by copying the table, once per item: the stand-in hands it back.
    assert [type(value) for value in moto_asked.asked] == [Table, Table]
    assert all(r is v for r, v in zip(moto_asked.returned, moto_asked.asked, strict=True))
    # What was copied is the two items written, and nothing else of the 3,002.
    assert all(type(value) is Item for value in copied.asked)
    assert [(i.hash_key.value, i.range_key.value) for i in copied.asked] == [
        ("FILL#0", "a"),
        ("FILL#0", "b"),
    ]
    assert stored(lean, table) == before


def test_the_patch_is_in_place_once_and_refuses_a_moto_that_backs_up_differently() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    patch_moto_dynamodb()
    patched = (DynamoDBBackend.transact_write_items, DynamoHandler.call_action)
    patch_moto_dynamodb()  # a second call changes nothing
    assert (DynamoDBBackend.transact_write_items, DynamoHandler.call_action) == patched
    shipped = inspect.unwrap(DynamoDBBackend.transact_write_items)
    assert shipped is not DynamoDBBackend.transact_write_items
    # The installed moto's transact_write_items is still the one the patch was written for.
    check_transaction_backup(shipped)

    def backs_up_another_way(self: Any, transact_items: list[dict[str, Any]]) -> None:
        self.snapshot(transact_items)

    with pytest.raises(MotoChangedError, match="transact_write_items"):
        check_transaction_backup(backs_up_another_way)


@dataclass
class Race:
    failures: list[str] = field(default_factory=list)  # what moto answered with a 5xx
    succeeded: dict[int, int] = field(default_factory=dict)  # worker -> committed transactions

    def wrong_workers(self, client: DynamoDBClient, table: str, rounds: int) -> list[int]:
        """Workers whose counter or written items differ from their committed transactions."""
        wrong = []
        for worker, committed in self.succeeded.items():
            counter = client.get_item(
                TableName=table, Key={"pk": {"S": f"w{worker}"}, "sk": {"S": "counter"}}
            )["Item"]["n"]["N"]
            written = sum(
                "Item" in client.get_item(TableName=table, Key=race_key(worker, n))
                for n in range(0, rounds, 2)
            )
            if int(counter) != committed or written != committed:
                wrong.append(worker)
        return wrong


def race_key(worker: int, round_: int) -> dict[str, Any]:
    return {"pk": {"S": f"w{worker}-{round_}"}, "sk": {"S": "x"}}


def race(endpoint: str, *, workers: int = 8, rounds: int = 20, filler: int = 300) -> list[str]:
    """Workers that each, at once, run transactions of two items: one adds 1 to the worker's
    counter, the other puts an item under ``attribute_not_exists`` — a new one on even
    rounds, round 0's again (so the transaction is cancelled) on odd ones. Returns what went
    wrong: a 5xx from moto, or a worker whose counter and items miss committed writes."""
    setup = dynamodb_at(endpoint)
    table = create_table(setup)
    fill(setup, table, filler)
    for worker in range(workers):
        setup.put_item(
            TableName=table,
            Item={"pk": {"S": f"w{worker}"}, "sk": {"S": "counter"}, "n": {"N": "0"}},
        )
    outcome = Race(succeeded=dict.fromkeys(range(workers), 0))
    start = threading.Barrier(workers)

    def work(worker: int) -> None:
        client = dynamodb_at(endpoint)
        start.wait()
        for n in range(rounds):
            try:
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"pk": {"S": f"w{worker}"}, "sk": {"S": "counter"}},
                                "UpdateExpression": "ADD n :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": table,
                                "Item": race_key(worker, 0 if n % 2 else n),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
                outcome.succeeded[worker] += 1
            except ClientError as exc:
                if exc.response["ResponseMetadata"]["HTTPStatusCode"] >= 500:
                    outcome.failures.append(exc.response["Error"]["Code"])
                elif exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    wrong = outcome.wrong_workers(setup, table, rounds)
    return [*outcome.failures, *(f"worker {worker} lost writes" for worker in wrong)]


def test_moto_serves_one_dynamodb_request_at_a_time(
    lean: DynamoDBClient, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    table = create_table(lean)
    inside, most = [0], [0]
    counting = threading.Lock()
    get_item = DynamoDBBackend.get_item

    def overlapping_get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with counting:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.002)  # lets any other request thread in, were one allowed
        try:
            return get_item(self, *args, **kwargs)
        finally:
            with counting:
                inside[0] -= 1

    monkeypatch.setattr(DynamoDBBackend, "get_item", overlapping_get_item)

    def read() -> None:
        client = dynamodb_at(moto_endpoint)
        for _ in range(10):
            client.get_item(TableName=table, Key=key("a", range_key=True))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert most[0] == 1


def test_concurrent_transactions_are_applied_one_at_a_time(moto_endpoint: str) -> None:
    assert race(moto_endpoint) == []


def test_moto_as_it_ships_loses_writes_under_the_same_concurrent_transactions(
    stock_endpoint: str,
) -> None:
    # Why the patch: a cancelled transaction puts back a copy of the whole table, taken
    # before it began, undoing what other requests committed meanwhile (or moto crashes
    # copying a table another request is changing).
    assert race(stock_endpoint) != []


def test_with_an_endpoint_configured_nothing_is_started_or_patched(stock_endpoint: str) -> None:
    # What `parley dev` does first, in a fresh interpreter with the endpoint a user set.
    probe = (
        "import json, sys\n"
        "from parley.config import get_settings\n"
        "from parley.apps.dev.localdb import prepare_local_dynamodb\n"
        "database = prepare_local_dynamodb(get_settings())\n"
        "print(json.dumps([database.endpoint, database.emulated, database.created_tables,"
        " 'moto' in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env={**clean_env(), "AWS_ENDPOINT_URL_DYNAMODB": stock_endpoint},
        capture_output=True,
        text=True,
        check=True,
    )
    endpoint, emulated, created, moto_imported = json.loads(result.stdout)
    assert (endpoint, emulated, moto_imported) == (stock_endpoint, False, False)
    assert {"parley-conversations", "parley-hot"} <= set(created)


def _put(client: DynamoDBClient, table: str, number: str) -> None:
    client.put_item(TableName=table, Item={"pk": {"S": "n"}, "n": {"N": number}})


def _update(client: DynamoDBClient, table: str, number: str) -> None:
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "n"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": number}},
    )


def _transact(client: DynamoDBClient, table: str, number: str) -> None:
    item = {"pk": {"S": "n"}, "n": {"N": number}}
    client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}])


@pytest.mark.parametrize(
    ("number", "refusal", "stock_takes_it_by"),
    [
        # moto as it ships checks a PutItem's magnitude, but not an UpdateItem's...
        ("1e300", "Number overflow", _update),
        # ... nor DynamoDB's exact limits, nor its 38 digits of precision.
        ("1e126", "Number overflow", _put),
        ("1" * 39, "38 significant digits", _put),
        ("1.00000000000000000000000000000000000001", "38 significant digits", _put),
        ("1e-131", "Number underflow", None),
    ],
)
def test_numbers_dynamodb_refuses_are_refused_by_every_write(
    lean: DynamoDBClient,
    stock: DynamoDBClient,
    number: str,
    refusal: str,
    stock_takes_it_by: Any,
) -> None:
    if stock_takes_it_by is not None:  # why the patch checks numbers at all
        stock_takes_it_by(stock, create_table(stock, range_key=False), number)
    table = create_table(lean, range_key=False)
    for write in (_put, _update, _transact):
        with pytest.raises(ClientError, match=refusal):
            write(lean, table, number)
    assert "Item" not in lean.get_item(TableName=table, Key={"pk": {"S": "n"}})


STORABLE = ["0", "-0", "1e-130", "9.9999999999999999999999999999999999999e125", "1" * 38]


@pytest.mark.parametrize("number", STORABLE)
def test_numbers_dynamodb_stores_are_stored(lean: DynamoDBClient, number: str) -> None:
    table = create_table(lean, range_key=False)
    lean.put_item(TableName=table, Item={"pk": {"S": "n"}, "n": {"N": number}})
    stored = lean.get_item(TableName=table, Key={"pk": {"S": "n"}})["Item"]["n"]["N"]
    assert Decimal(stored) == Decimal(number)
