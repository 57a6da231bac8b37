"""``TransactWriteItems`` and the reasons DynamoDB gives when it cancels one.

Shared by every repository that writes several items all or nothing (the budget ledger, the
rate limiter): a cancelled transaction reports, item by item, whether that item's condition
failed, whether another transaction was writing it at the same moment (try again), or whether
DynamoDB was throttling (a ``ServiceUnavailable``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from parley.errors import ServiceUnavailable
from parley.state.errors import dynamodb_errors, error_code

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["CONDITION_FAILED", "CONFLICT", "Cancellation", "back_off", "transact_write"]

CONDITION_FAILED = "ConditionalCheckFailed"
# Another transaction was writing the same item: DynamoDB asks us to try again.
CONFLICT = "TransactionConflict"
# What a transaction item that did not cause the cancellation reports (DynamoDB says "None").
_NOT_THE_CAUSE = {None, "None", ""}
_THROTTLED = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Why one item of a cancelled transaction failed: ``code`` is None for the items that did
    not cause it. ``item`` is the item as it was when its condition failed, when the write
    asked for it (``ReturnValuesOnConditionCheckFailure: ALL_OLD``) and the item existed."""

    code: str | None
    item: dict[str, Any] | None = None


def transact_write(
    client: DynamoDBClient, table: str, items: Sequence[Mapping[str, object]]
) -> list[Cancellation] | None:
    """Run the transaction (``items`` in DynamoDB's attribute-value form). None when it
    committed; else one ``Cancellation`` per item, in order, when only failed conditions and
    conflicts cancelled it. Throttling raises ``ServiceUnavailable``; anything else raises
    as ``dynamodb_errors`` translates it."""
    with dynamodb_errors(table):
        try:
            client.transact_write_items(TransactItems=list(items))  # type: ignore[arg-type]
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])
            codes = [reason.get("Code") for reason in reasons]
            causes = {code for code in codes if code not in _NOT_THE_CAUSE}
            if causes & _THROTTLED:
                raise ServiceUnavailable("The database is busy; try again shortly.") from exc
            if len(codes) != len(items) or not causes <= {CONDITION_FAILED, CONFLICT}:
                raise
            return [
                Cancellation(
                    code=None if code in _NOT_THE_CAUSE else code,
                    item=dict(reason["Item"]) if "Item" in reason else None,
                )
                for code, reason in zip(codes, reasons, strict=True)
            ]
    return None


def back_off(attempt: int) -> None:
    """Sleep before another attempt (the caller runs in a worker thread, never on the loop).
    Full jitter: writers of one item that collided spread out instead of colliding again."""
    time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security
