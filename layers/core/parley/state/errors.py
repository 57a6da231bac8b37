"""Translating botocore failures into Parley's errors at the DynamoDB boundary."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from parley.errors import ConfigurationError, ParleyError, ServiceUnavailable, UpstreamTimeout

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["dynamodb_errors", "error_code"]

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
    except ClientError as exc:
        raise _from_client_error(exc, table) from exc
    except (ConnectTimeoutError, ReadTimeoutError) as exc:
        raise UpstreamTimeout("The database did not answer in time.") from exc
    except (EndpointConnectionError, BotoCoreError) as exc:
        raise ServiceUnavailable("The database is unreachable.") from exc


def _from_client_error(exc: ClientError, table: str) -> ParleyError:
    code = error_code(exc)
    if code in _THROTTLED:
        return ServiceUnavailable("The database is busy; try again shortly.")
    if code == "ResourceNotFoundException":
        return ConfigurationError(f"Table {table} does not exist.")
    return ParleyError(f"The database refused a request ({code}).")
