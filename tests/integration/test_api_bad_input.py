"""Inputs the API must refuse cleanly, on the development server's app (every route): the
completion endpoint's lone surrogate, a tampered page cursor, the OpenAPI document itself, and
what the fuzzer (test_api_fuzz.py) found besides. The chat stream's bad input is in
test_chat_bad_input.py, against the fake upstreams.

The tests' moto refuses the numbers DynamoDB refuses (parley.apps.dev.localdb), as
production does."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest

from parley.providers.local import LocalProvider
from tests.support.api import (
    build_dev_app,
    error_problems,
    token,
)
from tests.support.asgi import client_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from parley.config import Settings

pytestmark = pytest.mark.anyio

USER, ORG = "bad-input-user", "bad-input-org"
HEADERS = {"Authorization": f"Bearer {token(USER, ORG)}", "Content-Type": "application/json"}
LONE_SURROGATE = "hi \ud800 there"


def raw_json(value: Any) -> bytes:
    """The bytes Python's json writes: a lone surrogate as the escape ``\\ud800``, NaN and
    Infinity as the bare words."""
    return json.dumps(value).encode()


@pytest.fixture
def provider_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every request the offline model (the only one with a key here) is asked to answer."""
    calls: list[Any] = []
    original = LocalProvider.stream

    def recording(self: LocalProvider, spec: Any, request: Any) -> Any:
        calls.append(request)
        return original(self, spec, request)

    monkeypatch.setattr(LocalProvider, "stream", recording)
    return calls


@pytest.fixture
async def api(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build_dev_app(settings, monkeypatch)) as client:
        yield client


def assert_json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    problems = error_problems(response.headers.get("content-type", ""), response.content)
    assert not problems, problems


async def conversations(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await api.get("/v1/conversations", headers=HEADERS)
    assert response.status_code == 200, response.text[:500]
    listed: list[dict[str, Any]] = response.json()["conversations"]
    return listed


async def test_the_openapi_document_is_served(api: httpx.AsyncClient) -> None:
    # The development server links it from /docs, and the fuzzer reads the API from it.
    response = await api.get("/openapi.json")
    assert response.status_code == 200, response.text[:500]
    assert "/v1/chat/stream" in response.json()["paths"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_completion_with_a_lone_surrogate_is_422_and_reaches_no_provider(
    api: httpx.AsyncClient, provider_calls: list[Any], stream: bool
) -> None:
    body = raw_json(
        {
            "model": "auto",
            "messages": [{"role": "user", "content": LONE_SURROGATE}],
            "stream": stream,
        }
    )
    assert b"hi \\ud800 there" in body
    response = await api.post("/v1/chat/completions", content=body, headers=HEADERS)
    assert_json_error(response, 422)
    assert provider_calls == []


async def test_a_conversation_cursor_with_an_attribute_of_the_wrong_type_is_400(
    api: httpx.AsyncClient,
) -> None:
    for n in range(3):
        chat = await api.post(
            "/v1/chat/stream", content=raw_json({"message": f"Question {n}"}), headers=HEADERS
        )
        assert chat.status_code == 200, chat.text[:500]
    first = await api.get("/v1/conversations", params={"limit": 1}, headers=HEADERS)
    assert first.status_code == 200, first.text[:500]
    cursor = first.json()["next_cursor"]
    assert cursor
    key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert key["gsi1sk"].keys() == {"S"}  # the caller's own cursor, as the API made it
    key["gsi1sk"] = {"N": "1"}
    tampered = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    response = await api.get("/v1/conversations", params={"cursor": tampered}, headers=HEADERS)
    assert_json_error(response, 400)


# Found by the fuzzer.


@pytest.mark.parametrize("path", ["/v1/feedback", "/v1/feedback/analytics"])
@pytest.mark.parametrize(
    "params", [{"to": "0001-01-01"}, {"from": "9999-12-31"}], ids=["to-first-day", "from-last-day"]
)
async def test_a_day_range_that_would_leave_the_calendar_is_a_client_error(
    api: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    # The range defaults to the 7 days ending at `to`, or the most days allowed from `from`: from
    # either end of the calendar it would leave it (today: OverflowError, a 500).
    response = await api.get(path, params=params, headers=HEADERS)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    problems = error_problems(response.headers.get("content-type", ""), response.content)
    assert not problems, problems
