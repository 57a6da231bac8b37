"""The chat function's events of tests/events/, each invoked as Lambda invokes it: the chat
function has no handler of its own (``Handler: run.sh``), so the test plays the Lambda Web
Adapter (tests/support/web_adapter.py) in front of the real ``functions/chat/run.sh``, started
with the environment ``sam local`` gives it from tests/events/env.json; DynamoDB is moto.

The chat stream is read as the deployed function sends it (``response_stream``, the
template's mode); the other events as ``sam local`` answers them (``buffered``, env.json's
mode: ``sam local`` does not stream responses)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from parley.config import Settings
from parley.state.tables import create_tables, table_definitions
from parley.state.template import load_template
from tests.conftest import REPO, TEMPLATE
from tests.support.asgi import bearer
from tests.support.environment import table_variables
from tests.support.lambdas import recorded_event
from tests.support.sam_local import invokes, sam_environment, template_functions
from tests.support.web_adapter import WebAdapter

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient

ORG = "acme"
CHAT = template_functions()["ChatFunction"]


@pytest.fixture(scope="module")
def adapter(
    dynamodb: DynamoDBClient, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebAdapter]:
    suffix = uuid.uuid4().hex[:8]
    definitions = table_definitions(load_template(TEMPLATE))
    settings = Settings(
        env="development",
        **{d.settings_field: f"chat-{d.settings_field}-{suffix}" for d in definitions},
    )
    create_tables(dynamodb, settings, definitions)
    environment = {
        **sam_environment(CHAT),
        # This module's DynamoDB (moto) and tables in place of env.json's.
        **table_variables(settings),
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "parley-chat",
    }
    log: Path = tmp_path_factory.mktemp("chat") / "run.log"
    running = WebAdapter(REPO / CHAT.code_uri, environment, log)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def token(user: str, scopes: str = "") -> str:
    return bearer(user, org_id=ORG, scopes=scopes)["Authorization"].removeprefix("Bearer ")


def sse_events(text: str) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in text.splitlines()
        if line.startswith("data: ")
    ]


def stream(adapter: WebAdapter, user: str) -> tuple[int, str, list[bytes]]:
    event = recorded_event("chat_stream_function_url", token=token(user))
    with adapter.stream(event) as response:
        chunks = list(response.iter_bytes())
        return response.status_code, response.headers["content-type"], chunks


def test_the_template_runs_run_sh_under_the_web_adapter_in_response_stream_mode() -> None:
    assert CHAT.handler == "run.sh"
    assert CHAT.variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert CHAT.variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert sam_environment(CHAT)["AWS_LWA_INVOKE_MODE"] == "buffered"


@invokes("ChatFunction", "chat_stream_function_url")
def test_the_stream_event_streams_meta_first_and_done_last(adapter: WebAdapter) -> None:
    status, content_type, chunks = stream(adapter, "alice")
    assert status == 200, adapter.output
    assert content_type.startswith("text/event-stream")
    events = sse_events(b"".join(chunks).decode())
    assert events[0]["type"] == "meta"
    assert events[-1]["type"] == "done", events[-1]
    assert events[-1]["model"] == "local"  # no provider key: the offline model
    assert any(event["type"] == "token" for event in events)
    # Streamed as it was written, not one buffered body: meta came before the answer did.
    assert len(chunks) > 1
    assert sse_events(chunks[0].decode())[0]["type"] == "meta"


@invokes("ChatFunction", "chat_completions_function_url")
def test_the_completions_event_is_answered_as_openai_answers(adapter: WebAdapter) -> None:
    answered = adapter.invoke(recorded_event("chat_completions_function_url", token=token("bob")))
    assert answered["statusCode"] == 200, answered
    assert answered["isBase64Encoded"] is False
    body = json.loads(answered["body"])
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["message"]["content"]


@invokes("ChatFunction", "conversations_function_url")
def test_the_conversations_event_lists_the_callers_conversation(adapter: WebAdapter) -> None:
    status, _, chunks = stream(adapter, "carol")
    assert status == 200
    conversation_id = sse_events(b"".join(chunks).decode())[0]["conversation_id"]
    answered = adapter.invoke(recorded_event("conversations_function_url", token=token("carol")))
    assert answered["statusCode"] == 200, answered
    listed = json.loads(answered["body"])
    assert [c["id"] for c in listed["conversations"]] == [conversation_id]


@invokes("ChatFunction", "org_settings_function_url")
def test_the_org_settings_event_needs_the_org_manage_scope(adapter: WebAdapter) -> None:
    member = adapter.invoke(recorded_event("org_settings_function_url", token=token("dave")))
    assert member["statusCode"] == 403, member
    admin = adapter.invoke(
        recorded_event("org_settings_function_url", token=token("erin", "org:manage"))
    )
    assert admin["statusCode"] == 200, admin
    assert admin["headers"]["etag"] == '"0"'
    assert "settings" in json.loads(admin["body"])
