"""Powertools Idempotency's DynamoDB persistence layer on the template's IdempotencyTable.

Feedback submissions and scheduled job runs use Powertools' own utility (its record states,
in-progress expiry and payload validation), with the deployment's one DynamoDB client so
that tests and ``parley dev`` reach the same local endpoint as everything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.errors import ServiceUnavailable
from parley.state.client import dynamodb_client

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.errors import ParleyError

__all__ = ["persistence_error", "persistence_layer"]


def persistence_layer(
    table_name: str, *, client: DynamoDBClient | None = None
) -> DynamoDBPersistenceLayer:
    # Imported here: the idempotency utility is only loaded by the functions that use it.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client or dynamodb_client())


def persistence_error(exc: BaseException, table_name: str) -> ParleyError:
    """The ParleyError for Powertools' ``IdempotencyPersistenceLayerError``: the database
    failure it wraps (its cause) as the DynamoDB boundary translates it, so missing
    credentials or a missing table say so instead of a generic outage."""
    from botocore.exceptions import BotoCoreError, ClientError

    from parley.state.errors import dynamodb_error

    cause = exc.__cause__
    if isinstance(cause, ClientError | BotoCoreError):
        return dynamodb_error(cause, table_name)
    return ServiceUnavailable("The idempotency store is unavailable; retry.")
