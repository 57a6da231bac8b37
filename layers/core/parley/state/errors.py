"""Translating botocore failures into Parley's errors at the DynamoDB boundary."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)

from parley.errors import ConfigurationError, ParleyError, ServiceUnavailable, UpstreamTimeout

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["dynamodb_error", "dynamodb_errors", "error_code"]

_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def dynamodb_errors(table: str) -> Iterator[None]:
    """Re-raise what escapes the block as a ParleyError. Callers catch the codes they expect
    (a failed condition, say) inside the block, before this sees them."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise dynamodb_error(exc, table) from exc


def dynamodb_error(exc: ClientError | BotoCoreError, table: str) -> ParleyError:
    """The ParleyError for a botocore failure on ``table``. Also for failures that reach
    Parley wrapped by a library (Powertools' persistence errors carry them as their cause)."""
    if isinstance(exc, ClientError):
        return _from_client_error(exc, table)
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return UpstreamTimeout("The database did not answer in time.")
    if isinstance(exc, NoCredentialsError):
        return ConfigurationError(
            "No AWS credentials to reach DynamoDB: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a loopback AWS_ENDPOINT_URL_DYNAMODB needs "
            "none)."
        )
    return ServiceUnavailable("The database is unreachable.")


def _from_client_error(exc: ClientError, table: str) -> ParleyError:
    code = error_code(exc)
    if code in _THROTTLED:
        return ServiceUnavailable("The database is busy; try again shortly.")
    if code == "ResourceNotFoundException":
        return ConfigurationError(f"Table {table} does not exist.")
    return ParleyError(f"The database refused a request ({code}).")
