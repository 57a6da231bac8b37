"""functions/preferences/app.py's Mangum handler, called as Lambda calls it: function-URL
events (payload format 2.0) against moto."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.asgi import bearer
from tests.support.lambdas import Handler, LambdaContext, function_handler, recorded_event

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

TOKEN = bearer("alice", org_id="acme")["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def handler(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handler]:
    """The handler imported as Lambda does, with this test's tables."""
    yield from function_handler("preferences", "app", "handler", settings, monkeypatch)


def event(name: str, **values: str) -> dict[str, Any]:
    return recorded_event(f"preferences_{name}_function_url", token=TOKEN, **values)


def context() -> LambdaContext:
    return LambdaContext(function_name="parley-preferences", remaining_ms=10_000)


def test_get_then_put_with_the_etag_then_a_stale_put(
    handler: Handler,
) -> None:
    got = handler(event("get"), context())
    assert got["statusCode"] == 200, got
    assert got["headers"]["etag"] == '"0"'
    assert json.loads(got["body"])["version"] == 0

    put = handler(event("put", if_match=got["headers"]["etag"]), context())
    assert put["statusCode"] == 200, put
    assert put["headers"]["etag"] == '"1"'
    body = json.loads(put["body"])
    assert body["preferences"]["pictures"]["defaultStyle"] == "watercolor"
    assert body["favorite_panels"] == ["pictures"]

    stale = handler(event("put", if_match='"0"'), context())
    assert stale["statusCode"] == 412
    assert json.loads(stale["body"])["error"]["code"] == "precondition_failed"

    again = handler(event("get"), context())
    assert json.loads(again["body"])["version"] == 1
