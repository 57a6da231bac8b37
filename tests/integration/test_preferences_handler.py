"""functions/preferences/app.py's Mangum handler, called as Lambda calls it: function-URL
events (payload format 2.0) against moto."""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import TYPE_CHECKING, Any

import pytest

from parley.config import get_settings
from parley.state.client import dynamodb_client
from tests.conftest import REPO
from tests.support.asgi import bearer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

TOKEN = bearer("alice", org_id="acme")["Authorization"].removeprefix("Bearer ")


class LambdaContext:
    """The parts of Lambda's context Mangum reads."""

    function_name = "parley-preferences"
    aws_request_id = "6f1a2b3c-0000-4000-8000-000000000002"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def handler(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[dict[str, Any], LambdaContext], dict[str, Any]]]:
    """The handler imported as Lambda does, with this test's tables."""
    monkeypatch.setenv("PARLEY_ACCOUNTS_TABLE", settings.accounts_table)
    get_settings.cache_clear()
    dynamodb_client.cache_clear()
    spec = importlib.util.spec_from_file_location(
        "preferences_function_app", REPO / "functions" / "preferences" / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.handler
    sys.modules.pop("preferences_function_app", None)
    get_settings.cache_clear()
    dynamodb_client.cache_clear()


def event(name: str, **values: str) -> dict[str, Any]:
    raw = (REPO / "tests" / "events" / f"preferences_{name}_function_url.json").read_text()
    for key, value in {"token": TOKEN, **values}.items():
        raw = raw.replace("{{" + key + "}}", value.replace('"', '\\"'))
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def test_get_then_put_with_the_etag_then_a_stale_put(
    handler: Callable[[dict[str, Any], LambdaContext], dict[str, Any]],
) -> None:
    got = handler(event("get"), LambdaContext())
    assert got["statusCode"] == 200, got
    assert got["headers"]["etag"] == '"0"'
    assert json.loads(got["body"])["version"] == 0

    put = handler(event("put", if_match=got["headers"]["etag"]), LambdaContext())
    assert put["statusCode"] == 200, put
    assert put["headers"]["etag"] == '"1"'
    body = json.loads(put["body"])
    assert body["preferences"]["pictures"]["defaultStyle"] == "watercolor"
    assert body["favorite_panels"] == ["pictures"]

    stale = handler(event("put", if_match='"0"'), LambdaContext())
    assert stale["statusCode"] == 412
    assert json.loads(stale["body"])["error"]["code"] == "precondition_failed"

    again = handler(event("get"), LambdaContext())
    assert json.loads(again["body"])["version"] == 1
