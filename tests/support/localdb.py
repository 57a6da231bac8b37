"""For the tests of parley.apps.dev.localdb: moto as it ships in a process of its own, clients that
show moto's own answers (no retries), and filler items."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.support.servers import free_port, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["dynamodb_at", "fill", "stock_moto"]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


@contextmanager
def stock_moto() -> Iterator[str]:
    """moto as it ships, unpatched: its own ``moto_server`` process on a loopback port (a
    werkzeug server with a thread per request, as ThreadedMotoServer). Yields the endpoint."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{endpoint}/moto-api/"), timeout=30, what="moto_server")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def dynamodb_at(endpoint: str, *, retries: bool = False) -> DynamoDBClient:
    """A client of ``endpoint``. Without retries a 500 from moto reaches the test, which the
    SDK's standard retries (Parley's client) would otherwise hide."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            retries={"mode": "standard", "max_attempts": 3 if retries else 1},
            max_pool_connections=64,
        ),
    )


def fill(client: DynamoDBClient, table: str, count: int, *, partitions: int = 50) -> None:
    """``count`` items of 100-character text in ``partitions`` partitions of their own, none
    of which Parley or a test reads: what a long session leaves in a table."""
    for start in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                table: [
                    {
                        "PutRequest": {
                            "Item": {
                                "pk": {"S": f"FILL#{n % partitions}"},
                                "sk": {"S": f"MSG#{n:06d}"},
                                "text": {"S": "x" * 100},
                            }
                        }
                    }
                    for n in range(start, min(count, start + 25))
                ]
            }
        )
