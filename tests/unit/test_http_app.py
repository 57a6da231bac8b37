"""The app factory's contract: JSON errors with the right status, auth and scopes, request
ids, body limits, CORS, and no stack trace for anything."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import anyio
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel

from parley.auth import Identity  # noqa: TC001 (FastAPI reads route annotations at runtime)
from parley.config import Settings
from parley.errors import RateLimited
from parley.http import CurrentIdentity, create_app, require_scopes
from tests.support.asgi import bearer, client_for
from tests.support.logs import captured_logs

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import FastAPI

pytestmark = pytest.mark.anyio


class Echo(BaseModel):
    message: str
    count: int = 1


def probe_router() -> APIRouter:
    router = APIRouter()

    @router.post("/probe/echo")
    async def echo(body: Echo, identity: CurrentIdentity) -> dict[str, object]:
        return {"message": body.message, "user": identity.user_id}

    @router.get("/probe/admin")
    async def admin(
        identity: Identity = Depends(require_scopes("users:manage")),  # noqa: B008
    ) -> dict[str, str]:
        return {"user": identity.user_id}

    @router.get("/probe/limited")
    async def limited() -> None:
        raise RateLimited("Slow down.", retry_after=2.2)

    @router.get("/probe/broken")
    async def broken() -> None:
        raise RuntimeError("secret internals at /srv/app.py line 3")

    return router


@pytest.fixture
def app() -> FastAPI:
    settings = Settings(env="development", max_body_bytes=1024, cors_origins="https://app.test")
    return create_app(settings=settings, routers=[probe_router()])


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


async def test_healthz_answers_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_me_without_a_token_is_401_in_parley_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["retryable"] is False
    assert error["request_id"] == response.headers["x-request-id"]


async def test_me_with_a_garbage_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers={"Authorization": "Bearer garbage"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The bearer token is not a JWT."


async def test_me_with_another_scheme_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


async def test_me_returns_the_callers_identity(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers=bearer("u-7", org_id="acme", scopes="b a"))
    assert response.status_code == 200
    assert response.json() == {"user_id": "u-7", "org_id": "acme", "scopes": ["a", "b"]}


async def test_a_missing_scope_is_403_and_a_present_one_passes(client: httpx.AsyncClient) -> None:
    refused = await client.get("/probe/admin", headers=bearer(scopes="analytics:view"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "users:manage" in refused.json()["error"]["message"]
    admitted = await client.get("/probe/admin", headers=bearer(scopes="users:manage"))
    assert admitted.status_code == 200


async def test_scope_checks_still_need_a_valid_token_first(client: httpx.AsyncClient) -> None:
    assert (await client.get("/probe/admin")).status_code == 401


async def test_unknown_routes_are_404_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_an_invalid_body_is_422_with_details_but_without_echoing_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/probe/echo", json={"count": "many", "secret": "x"}, headers=bearer()
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("body.")
    assert {tuple(item["loc"]) for item in error["details"]} == {
        ("body", "message"),
        ("body", "count"),
    }
    assert "many" not in response.text


async def test_malformed_json_is_422_not_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/probe/echo",
        content=b'{"message": "unterminated',
        headers={**bearer(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


async def test_a_body_over_the_limit_is_413_before_parsing(client: httpx.AsyncClient) -> None:
    body = json.dumps({"message": "x" * 2000}).encode()
    response = await client.post(
        "/probe/echo", content=body, headers={**bearer(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_a_chunked_body_over_the_limit_is_413_too(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"message": "'
        for _ in range(10):
            yield b"y" * 200
        yield b'"}'

    response = await client.post(
        "/probe/echo", content=chunks(), headers={**bearer(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_a_chunked_body_under_the_limit_reaches_the_handler(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"message": '
        yield b'"hello"}'

    response = await client.post(
        "/probe/echo", content=chunks(), headers={**bearer(), "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"message": "hello", "user": "user-1"}


async def test_rate_limited_errors_carry_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe/limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"] == {
        "code": "rate_limited",
        "message": "Slow down.",
        "retryable": True,
        "request_id": response.headers["x-request-id"],
    }


async def test_an_unhandled_error_is_a_json_500_without_internals(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/probe/broken")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


async def test_a_sane_client_request_id_is_kept_and_a_bad_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/healthz", headers={"X-Request-Id": "client-abc.123"})
    assert kept.headers["x-request-id"] == "client-abc.123"
    replaced = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 26


async def test_cors_preflight_and_errors_carry_cors_headers(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/v1/me",
        headers={
            "Origin": "https://app.test",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.test"
    error = await client.get("/v1/me", headers={"Origin": "https://app.test"})
    assert error.status_code == 401
    assert error.headers["access-control-allow-origin"] == "https://app.test"
    stranger = await client.get("/healthz", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in stranger.headers


async def test_log_lines_carry_request_and_user_ids(client: httpx.AsyncClient) -> None:
    stream, restore = captured_logs()
    try:
        response = await client.get(
            "/v1/me", headers={**bearer("u-log", org_id="o-log"), "X-Request-Id": "req-log-1"}
        )
    finally:
        restore()
    assert response.status_code == 200
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line.get("message") == "request"]
    assert len(access) == 1
    assert access[0]["request_id"] == "req-log-1"
    assert access[0]["user_id"] == "u-log"
    assert access[0]["org_id"] == "o-log"
    assert access[0]["status"] == 200


async def test_concurrent_requests_never_share_log_keys(client: httpx.AsyncClient) -> None:
    stream, restore = captured_logs()

    async def call(index: int) -> None:
        headers = {**bearer(f"user-{index}"), "X-Request-Id": f"req-{index}"}
        assert (await client.get("/v1/me", headers=headers)).status_code == 200

    try:
        async with anyio.create_task_group() as group:
            for index in range(12):
                group.start_soon(call, index)
    finally:
        restore()
    access = [json.loads(line) for line in stream.getvalue().splitlines()]
    pairs = {
        (line["request_id"], line["user_id"]) for line in access if line["message"] == "request"
    }
    assert pairs == {(f"req-{index}", f"user-{index}") for index in range(12)}
