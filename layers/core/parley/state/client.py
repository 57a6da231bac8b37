"""The DynamoDB client, built once per process.

boto3 is imported on first use: it costs ~170 ms, and modules that never touch DynamoDB
should not pay it. The endpoint comes from the SDK's standard ``AWS_ENDPOINT_URL_DYNAMODB``,
which is how ``parley dev`` and the tests point Parley at a local emulator.

A local emulator (moto, DynamoDB Local) accepts any credentials, so against a loopback
endpoint the local ones are implied when the environment names none: ``parley jobs run``
beside ``parley dev`` needs no AWS account. Every process that applies the rule uses the same
credentials, which matters to DynamoDB Local (without ``-sharedDb`` it keeps one database per
access key).
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from parley.config import get_settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["LOCAL_CREDENTIALS", "dynamodb_client", "implied_credentials", "new_dynamodb_client"]

# (access key id, secret access key)
LOCAL_CREDENTIALS = ("parley-local", "parley-local")
# The variables with which an environment names its own credentials (boto3's chain).
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def implied_credentials(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``LOCAL_CREDENTIALS`` when DynamoDB's endpoint is on loopback and the environment names
    no credentials of its own; else None (boto3's own chain decides)."""
    environ = os.environ if environ is None else environ
    endpoint = environ.get("AWS_ENDPOINT_URL_DYNAMODB") or environ.get("AWS_ENDPOINT_URL")
    if not endpoint or any(environ.get(name) for name in _CREDENTIAL_VARIABLES):
        return None
    return LOCAL_CREDENTIALS if _is_loopback(endpoint) else None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_dynamodb_client(region: str, timeout_seconds: float) -> DynamoDBClient:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"mode": "standard", "max_attempts": 3},
        tcp_keepalive=True,
    )
    key_id, secret = implied_credentials() or (None, None)
    return boto3.client(
        "dynamodb",
        region_name=region,
        config=config,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    settings = get_settings()
    return new_dynamodb_client(settings.aws_region, settings.dynamodb_timeout_seconds)
