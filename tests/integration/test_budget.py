"""What the DynamoDB ledger does beyond the shared contract (test_ledger_contract.py): the
items it writes (docs/data-model.md), an operator's edit of them, the condition that admits
racing reservations, and an unreachable database; against moto, its table made from
template.yaml."""

from __future__ import annotations

import socket
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from parley.budget.ledger import Ledger
from parley.budget.reservations import Reservation, Settlement
from parley.budget.spend import SpendCapReached
from parley.errors import PaymentRequired, ServiceUnavailable
from parley.state.items import from_item
from tests.support.clock import FakeClock
from tests.support.ledger import ORG, USER, reserve, run_together

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock.at("2026-11-22T21:30:00")


@pytest.fixture
def ledger(settings: Settings, dynamodb: DynamoDBClient, clock: FakeClock) -> Ledger:
    return Ledger(settings.accounts_table, dynamodb, clock)


@pytest.fixture
def item(settings: Settings, dynamodb: DynamoDBClient) -> Callable[[str, str], dict[str, Any]]:
    """The raw item, read around the ledger: what is really stored."""

    def read(pk: str, sk: str) -> dict[str, Any]:
        found = dynamodb.get_item(
            TableName=settings.accounts_table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=True,
        ).get("Item")
        return from_item(dict(found)) if found else {}

    return read


# The items ------------------------------------------------------------------------------


def test_a_reservation_and_its_settlement_are_stored_as_documented(
    ledger: Ledger, item: Callable[[str, str], dict[str, Any]]
) -> None:
    ledger.grant(ORG, 10_000)
    held = reserve(ledger, "req-1", tokens=3_000, cost_usd=0.03)
    spend = item(f"USER#{ORG}#{USER}", "SPEND#2026-11-22")
    assert (spend["reserved_micros"], spend.get("spent_micros", 0)) == (30_000, 0)

    # The stream was cut after 1,200 tokens: the rest of the hold goes back.
    ledger.settle(held, tokens=1_200, cost_usd=0.012)

    spend = item(f"USER#{ORG}#{USER}", "SPEND#2026-11-22")
    assert (spend["reserved_micros"], spend["spent_micros"]) == (0, 12_000)
    record = item(f"ORG#{ORG}", "RES#req-1")
    assert record["state"] == "settled"
    assert (record["used_tokens"], record["charged_tokens"], record["refunded_tokens"]) == (
        1_200,
        1_200,
        1_800,
    )


def test_a_written_off_overage_is_recorded_on_the_reservation(
    ledger: Ledger, item: Callable[[str, str], dict[str, Any]]
) -> None:
    ledger.grant(ORG, 1_200)
    held = reserve(ledger, "req-1", tokens=1_000)
    ledger.settle(held, tokens=1_500, cost_usd=0.015)
    assert item(f"ORG#{ORG}", "RES#req-1")["written_off_tokens"] == 300


def test_a_refused_reservation_writes_no_item(
    ledger: Ledger, item: Callable[[str, str], dict[str, Any]]
) -> None:
    ledger.grant(ORG, 500)
    with pytest.raises(PaymentRequired):
        reserve(ledger, "req-1", tokens=501, cap=10.0)
    assert item(f"ORG#{ORG}", "RES#req-1") == {}
    assert item(f"USER#{ORG}#{USER}", "SPEND#2026-11-22") == {}
    reserve(ledger, "req-2", tokens=500, cost_usd=1.0, cap=1.0)
    with pytest.raises(SpendCapReached):
        reserve(ledger, "req-3", tokens=0, cost_usd=0.000001, cap=1.0)
    assert item(f"ORG#{ORG}", "RES#req-3") == {}


def test_money_is_stored_in_whole_micro_dollars(
    ledger: Ledger, item: Callable[[str, str], dict[str, Any]]
) -> None:
    for index in range(10):
        held = reserve(ledger, f"req-{index}", cost_usd=0.1, metered=False)
        ledger.settle(held, tokens=10, cost_usd=0.1)
    assert item(f"USER#{ORG}#{USER}", "SPEND#2026-11-22")["spent_micros"] == 1_000_000
    assert ledger.spent_today(ORG, USER) == 1.0


def test_settling_after_the_balance_was_removed_does_not_meter_the_org_again(
    ledger: Ledger, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    ledger.grant(ORG, 5_000)
    held = reserve(ledger, "req-1", tokens=1_000)
    dynamodb.delete_item(
        TableName=settings.accounts_table, Key={"pk": {"S": f"ORG#{ORG}"}, "sk": {"S": "BALANCE"}}
    )
    assert ledger.settle(held, tokens=400, cost_usd=0.004) == Settlement(0, 0, 0)
    assert ledger.balance(ORG) is None


# Conditions under races -----------------------------------------------------------------


def test_concurrent_reservations_admit_exactly_what_the_balance_covers(
    ledger: Ledger, item: Callable[[str, str], dict[str, Any]]
) -> None:
    ledger.grant(ORG, 3_500)  # room for three of 1,000
    outcomes = run_together([partial(reserve, ledger, f"req-{index}") for index in range(8)])
    admitted = [o for o in outcomes if isinstance(o, Reservation)]
    refused = [o for o in outcomes if isinstance(o, PaymentRequired)]
    assert (len(admitted), len(refused)) == (3, 5)
    assert ledger.balance(ORG) == 500
    spend = item(f"USER#{ORG}#{USER}", "SPEND#2026-11-22")
    assert spend["reserved_micros"] == 3 * 10_000


# Errors ---------------------------------------------------------------------------------


def test_an_unreachable_database_is_service_unavailable(
    settings: Settings, clock: FakeClock
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    offline = Ledger(settings.accounts_table, client, clock)
    with pytest.raises(ServiceUnavailable):
        offline.balance(ORG)
    with pytest.raises(ServiceUnavailable):
        reserve(offline, "req-1")
