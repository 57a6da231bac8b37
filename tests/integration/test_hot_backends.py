"""What each hot-state backend does beyond the shared contract: how it is chosen, what it
stores, and how its failures reach callers."""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

import pytest

from parley.config import Settings
from parley.errors import ConfigurationError, ServiceUnavailable, UpstreamTimeout
from parley.hot import create_hot_store, hot_backend_name
from parley.hot.dynamodb import DynamoDBHotStore
from parley.hot.memory import MemoryHotStore
from parley.hot.upstash import UpstashHotStore

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.fakes.upstash import UpstashShim

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (Settings(env="development"), "memory"),
        (Settings(env="production"), "dynamodb"),
        (Settings(env="production", upstash_redis_rest_url="https://x.upstash.io"), "upstash"),
        (Settings(env="development", hot_backend="dynamodb"), "dynamodb"),
    ],
)
async def test_auto_picks_a_backend_shared_across_environments_in_production(
    settings: Settings, expected: str
) -> None:
    assert hot_backend_name(settings) == expected


async def test_upstash_without_a_token_is_a_configuration_error() -> None:
    settings = Settings(hot_backend="upstash", upstash_redis_rest_url="https://x.upstash.io")
    with pytest.raises(ConfigurationError, match="UPSTASH_REDIS_REST_TOKEN"):
        create_hot_store(settings)


async def test_the_factory_builds_each_backend(settings: Settings, upstash: UpstashShim) -> None:
    assert isinstance(create_hot_store(Settings(env="development")), MemoryHotStore)
    dynamodb = create_hot_store(settings.model_copy(update={"hot_backend": "dynamodb"}))
    assert isinstance(dynamodb, DynamoDBHotStore)
    await dynamodb.set("factory:probe", "1")
    assert await dynamodb.get("factory:probe") == "1"
    configured = Settings(
        hot_backend="upstash",
        upstash_redis_rest_url=upstash.url,
        upstash_redis_rest_token=upstash.token,
    )
    store = create_hot_store(configured)
    assert isinstance(store, UpstashHotStore)
    await store.set("factory:probe", "2")
    assert await store.get("factory:probe") == "2"
    await store.close()


async def test_dynamodb_hides_expired_items_that_ttl_has_not_deleted_yet(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    # DynamoDB deletes expired items up to days late; reads must not see them meanwhile.
    expired_ms = int((time.time() - 60) * 1000)
    dynamodb.put_item(
        TableName=settings.hot_table,
        Item={
            "pk": {"S": "stale"},
            "v": {"S": "old"},
            "exp": {"N": str(expired_ms)},
            "ttl": {"N": str(expired_ms // 1000)},
        },
    )
    store = DynamoDBHotStore(settings.hot_table, client=dynamodb)
    assert await store.get("stale") is None
    assert await store.set_if_absent("stale", "new", ttl_seconds=30) is True
    assert await store.get("stale") == "new"


async def test_dynamodb_writes_the_ttl_attribute_the_template_enables(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    store = DynamoDBHotStore(settings.hot_table, client=dynamodb)
    await store.set("with-ttl", "v", ttl_seconds=90)
    item = dynamodb.get_item(TableName=settings.hot_table, Key={"pk": {"S": "with-ttl"}})["Item"]
    description = dynamodb.describe_time_to_live(TableName=settings.hot_table)
    attribute = description["TimeToLiveDescription"]["AttributeName"]
    assert attribute == "ttl"
    assert abs(int(item[attribute]["N"]) - (time.time() + 90)) < 5  # epoch seconds


async def test_dynamodb_on_a_missing_table_is_a_configuration_error(
    dynamodb: DynamoDBClient,
) -> None:
    store = DynamoDBHotStore("no-such-table", client=dynamodb)
    with pytest.raises(ConfigurationError, match="no-such-table"):
        await store.get("k")


async def test_upstash_speaks_base64_and_uses_one_transaction_per_increment(
    upstash: UpstashShim,
) -> None:
    store = UpstashHotStore(upstash.url, upstash.token)
    before = len(upstash.requests)
    await store.set("b64", "héllo wörld")
    assert await store.get("b64") == "héllo wörld"
    await store.increment("b64-counter", window_seconds=30)
    paths = [path for path, _ in upstash.requests[before:]]
    assert paths == ["/", "/", "/multi-exec"]
    await store.close()


async def test_upstash_with_a_wrong_token_is_service_unavailable(upstash: UpstashShim) -> None:
    store = UpstashHotStore(upstash.url, "wrong-token")
    with pytest.raises(ServiceUnavailable):
        await store.get("k")
    await store.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


async def test_upstash_that_does_not_answer_times_out(silent_port: int) -> None:
    store = UpstashHotStore(f"http://127.0.0.1:{silent_port}", "t", timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await store.get("k")
    assert time.monotonic() - started < 3
    await store.close()
