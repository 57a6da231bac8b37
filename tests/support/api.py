"""The whole API in-process, for the fuzzer and the bad-input tests: the development server's
app (every function's routes in one ASGI app) on this test's tables, tokens for it, and what
every response must satisfy whatever was sent: no 500, the JSON error body on every refusal,
and event streams that keep the protocol of docs/sse-protocol.md."""

from __future__ import annotations

import copy
import json
import logging
import traceback
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from parley.apps.dev.app import create_dev_app
from parley.auth import mint_token
from parley.config import DEV_JWT_SECRET
from parley.state.client import dynamodb_client

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest
    from fastapi import FastAPI

    from parley.config import Settings

__all__ = [
    "ALL_SCOPES",
    "PROVIDER_KEYS",
    "ServerErrors",
    "build_dev_app",
    "dev_app_document",
    "error_problems",
    "openapi_document",
    "parse_event_stream",
    "response_problems",
    "server_errors",
    "stream_problems",
    "token",
]

# Every scope a route checks: a token with all of them reaches every handler.
ALL_SCOPES = "analytics:view users:manage org:manage ops:view ops:manage"
# Unset, so only the offline `local` model has a key: nothing leaves the machine.
PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
# 5xx a client may see when a dependency Parley cannot fix fails (a model without a key: 503).
DEPENDENCY_STATUSES = (502, 503, 504)
EVENT_STREAM = "text/event-stream"
STREAM_TYPES = {"meta", "token", "provider_switched", "done", "error"}


def token(user_id: str, org_id: str, scopes: str = ALL_SCOPES) -> str:
    return mint_token(DEV_JWT_SECRET, user_id=user_id, org_id=org_id, scopes=scopes)


@contextmanager
def _own_dynamodb_client() -> Iterator[None]:
    """The app built inside gets a DynamoDB client for the endpoint of now, and the process's
    cached one is not left to later code (it may be built before the tests point boto3 at
    moto)."""
    dynamodb_client.cache_clear()
    try:
        yield
    finally:
        dynamodb_client.cache_clear()


def build_dev_app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """``parley dev``'s app on ``settings``' tables; the offline model answers at once. Its
    DynamoDB is the tests' moto, which refuses the numbers DynamoDB refuses
    (parley.apps.dev.localdb)."""
    for name in PROVIDER_KEYS:
        monkeypatch.delenv(name, raising=False)
    configured = settings.model_copy(update={"local_token_delay_seconds": 0})
    with _own_dynamodb_client():
        return create_dev_app(configured, dev_token=token("dev-user", "default"))


def dev_app_document() -> dict[str, Any]:
    """The development app's OpenAPI document, without tables (the document is the routes')."""
    from parley.config import Settings

    with _own_dynamodb_client():
        return openapi_document(create_dev_app(Settings(env="development")))


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, as ``GET /openapi.json`` serves it."""
    return copy.deepcopy(app.openapi())


def error_problems(content_type: str, body: bytes) -> list[str]:
    """What is wrong with an error response: it must be JSON
    ``{"error": {"code": str, "message": str, "retryable": bool, ...}}``."""
    problems = []
    if content_type.split(";", maxsplit=1)[0].strip().lower() != "application/json":
        problems.append(f"content-type is {content_type!r}, not application/json")
    try:
        document = json.loads(body)
    except ValueError:
        return [*problems, f"the body is not JSON: {body[:300]!r}"]
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return [*problems, f"the body has no error object: {body[:300]!r}"]
    for name, kind in (("code", str), ("message", str), ("retryable", bool)):
        if not isinstance(error.get(name), kind):
            problems.append(f"error.{name} is {error.get(name)!r}, not a {kind.__name__}")
    return problems


def parse_event_stream(body: bytes) -> list[Any]:
    """Each message's ``data`` of a ``text/event-stream`` body: the JSON value, or the text
    when it is not JSON (``[DONE]``). Comments (``: ping``) are skipped."""
    messages: list[Any] = []
    text = body.decode("utf-8", errors="replace").replace("\r\n", "\n")
    for block in text.split("\n\n"):
        data = [
            line.removeprefix("data:").removeprefix(" ")
            for line in block.split("\n")
            if line.startswith("data:")
        ]
        if not data:
            continue
        joined = "\n".join(data)
        try:
            messages.append(json.loads(joined))
        except ValueError:
            messages.append(joined)
    return messages


def stream_problems(path: str, messages: list[Any]) -> list[str]:
    """What breaks the stream protocol: an ``internal_error`` anywhere; for the chat stream,
    ``meta`` first, then tokens, then exactly one ``done`` or ``error`` (with Parley's error
    fields) last; for the OpenAI-compatible stream, ``[DONE]`` or an error object last."""
    problems = []
    for message in messages:
        error = _stream_error(message)
        if error is not None and error.get("code") == "internal_error":
            problems.append(f"the stream carries an internal_error: {json.dumps(message)[:300]}")
    if not messages:
        return [*problems, "the stream has no message"]
    if path == "/v1/chat/stream":
        kinds = [m.get("type") if isinstance(m, dict) else repr(m) for m in messages]
        if kinds[0] != "meta":
            problems.append(f"the first event is {kinds[0]!r}, not meta")
        if kinds[-1] not in ("done", "error"):
            problems.append(f"the last event is {kinds[-1]!r}, not done or error")
        if kinds.count("meta") != 1 or kinds.count("done") + kinds.count("error") != 1:
            problems.append(f"events out of protocol: {kinds}")
        unknown = sorted({str(kind) for kind in kinds} - STREAM_TYPES)
        if unknown:
            problems.append(f"unknown events: {unknown}")
        last = messages[-1]
        if isinstance(last, dict) and last.get("type") == "error":
            problems += [f"error event: {p}" for p in _error_fields(last)]
    else:
        # OpenAI's shape, by design: {"error": {"message", "type", "param", "code"}}.
        last = messages[-1]
        if last != "[DONE]" and _stream_error(last) is None:
            ending = json.dumps(last)[:200]
            problems.append(f"the stream ends with {ending}, not [DONE] or an error")
    return problems


def _stream_error(message: Any) -> dict[str, Any] | None:
    if not isinstance(message, dict):
        return None
    if message.get("type") == "error":
        return message
    error = message.get("error")
    return error if isinstance(error, dict) else None


def _error_fields(error: dict[str, Any]) -> list[str]:
    return [
        f"{name} is {error.get(name)!r}, not a {kind.__name__}"
        for name, kind in (("code", str), ("message", str), ("retryable", bool))
        if not isinstance(error.get(name), kind)
    ]


def response_problems(
    path: str, status: int, headers: dict[str, str], body: bytes, *, stream_cut_short: bool = False
) -> list[str]:
    """Everything a response of the API must satisfy, whatever the request was."""
    content_type = headers.get("content-type", "")
    problems = []
    if status >= 500 and status not in DEPENDENCY_STATUSES:
        problems.append(f"status {status}")
    if not 200 <= status < 300:
        problems += error_problems(content_type, body)
    elif content_type.startswith(EVENT_STREAM):
        if stream_cut_short:
            problems.append("the event stream did not end (cut at the event limit or timeout)")
        problems += stream_problems(path, parse_event_stream(body))
    return problems


class ServerErrors(logging.Handler):
    """The errors the app logged (``Unhandled error``, ``Chat stream failed``...), with their
    tracebacks, so a failure report shows what broke on the server."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()

    def report(self, limit: int = 3) -> str:
        parts = []
        for record in self.records[-limit:]:
            text = f"[{record.levelname}] {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info))
            parts.append(text)
        return "\n".join(parts)


@contextmanager
def server_errors() -> Iterator[ServerErrors]:
    from parley.telemetry import logger

    target = logging.getLogger(logger.name)
    handler = ServerErrors()
    target.addHandler(handler)
    try:
        yield handler
    finally:
        target.removeHandler(handler)
