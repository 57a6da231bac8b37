"""Every access-log line names only its own request's caller, on a real server whose
connections stay open between requests (as uvicorn's do, and the Lambda Web Adapter's)."""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING

import pytest
from fastapi import APIRouter, Request

from parley.http import CurrentIdentity, create_app
from tests.support.asgi import bearer
from tests.support.logs import access_lines, await_access_lines, captured_logs
from tests.support.servers import LiveServer

if TYPE_CHECKING:
    from collections.abc import Iterator

# Above uvicorn's 64 KiB read high-water mark: reading it pauses and resumes the socket, and
# the resumed reader runs in the context of the request that resumed it.
LARGE_BODY = b'{"text": "' + b"a" * (70 * 1024) + b'"}'


def upload_router() -> APIRouter:
    router = APIRouter()

    @router.post("/probe/upload")
    async def upload(request: Request, identity: CurrentIdentity) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return router


@pytest.fixture
def server() -> Iterator[LiveServer]:
    live = LiveServer(create_app(routers=[upload_router()])).start()
    yield live
    live.stop()


def test_a_request_after_a_large_upload_on_the_same_connection_is_logged_without_its_caller(
    server: LiveServer,
) -> None:
    # GIVEN keep-alive connections, each carrying an authenticated large upload
    stream, restore = captured_logs()
    try:
        for attempt in range(9):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            headers = {**bearer(f"uploader-{attempt}", org_id="org-up")}
            headers["Content-Type"] = "application/json"
            connection.request("POST", "/probe/upload", body=LARGE_BODY, headers=headers)
            assert connection.getresponse().read() == b'{"bytes":%d}' % len(LARGE_BODY)
            # WHEN the next request on that connection fails before authentication
            connection.request("GET", "/v1/me", headers={"X-Request-Id": f"anon-{attempt}"})
            response = connection.getresponse()
            response.read()
            assert response.status == 401
            connection.close()
        await_access_lines(stream, "/v1/me", 9)
    finally:
        restore()
    # THEN its access line carries its own request id and no one's identity
    anonymous = [line for line in access_lines(stream) if line["path"] == "/v1/me"]
    assert [line["request_id"] for line in anonymous] == [f"anon-{n}" for n in range(9)]
    assert [line for line in anonymous if "user_id" in line or "org_id" in line] == []
    uploads = [line for line in access_lines(stream) if line["path"] == "/probe/upload"]
    assert [line["user_id"] for line in uploads] == [f"uploader-{n}" for n in range(9)]
