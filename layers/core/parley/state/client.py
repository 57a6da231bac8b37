"""The DynamoDB client, built once per process.

boto3 is imported on first use: it costs ~170 ms, and modules that never touch DynamoDB
should not pay it. The endpoint comes from the SDK's standard ``AWS_ENDPOINT_URL_DYNAMODB``,
which is how ``parley dev`` and the tests point Parley at a local emulator.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from parley.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["dynamodb_client", "new_dynamodb_client"]


def new_dynamodb_client(region: str, timeout_seconds: float) -> DynamoDBClient:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"mode": "standard", "max_attempts": 3},
        tcp_keepalive=True,
    )
    return boto3.client("dynamodb", region_name=region, config=config)


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    settings = get_settings()
    return new_dynamodb_client(settings.aws_region, settings.dynamodb_timeout_seconds)
