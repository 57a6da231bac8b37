"""Shared fixtures: real servers on loopback (moto, redis-server, the Upstash shim) and
tables created from template.yaml."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Before anything imports parley (telemetry reads the settings once per process).
os.environ.setdefault("PARLEY_ENV", "development")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("AWS_PROFILE", None)

from parley.apps.dev.localdb import start_moto_server
from parley.config import Settings
from parley.state.client import new_dynamodb_client
from parley.state.tables import create_tables, table_definitions
from parley.state.template import load_template
from tests.fakes.upstash import UpstashShim
from tests.support.servers import RedisServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    # moto as `parley dev` embeds it. Every test races requests somewhere; DynamoDB is atomic
    # per request, and so is this moto (parley.apps.dev.localdb says how).
    server = start_moto_server()
    yield server.endpoint
    server.stop()


@pytest.fixture(scope="session")
def dynamodb(moto_endpoint: str) -> Iterator[DynamoDBClient]:
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = moto_endpoint
    yield new_dynamodb_client("us-east-1", 5.0)
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)


@pytest.fixture
def settings(dynamodb: DynamoDBClient) -> Settings:
    """Settings whose tables exist, freshly made from template.yaml for this test alone."""
    suffix = uuid.uuid4().hex[:8]
    definitions = table_definitions(load_template(TEMPLATE))
    names = {
        d.settings_field: f"{d.settings_field.removesuffix('_table')}-{suffix}" for d in definitions
    }
    configured = Settings(env="development", **names)
    create_tables(dynamodb, configured, definitions)
    return configured


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def upstash(redis_server: RedisServer) -> Iterator[UpstashShim]:
    shim = UpstashShim(redis_server.port).start()
    yield shim
    shim.stop()
