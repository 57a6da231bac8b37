"""The operations functions' events of tests/events/, each invoked as Lambda invokes it: the
handler template.yaml names, imported from the function's CodeUri in the environment
``sam local`` gives it from tests/events/env.json, with a Lambda context; DynamoDB is moto,
Slack a loopback server that records what it is sent."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from parley.state.usage import UsageRepository
from tests.support.lambdas import LambdaContext, recorded_event
from tests.support.rollups import event
from tests.support.sam_local import invokes, template_handler
from tests.support.servers import QuietHandler

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings


class SlackWebhook:
    """An incoming webhook on loopback that answers ``ok`` and keeps each JSON body."""

    def __init__(self) -> None:
        posted: list[dict[str, Any]] = []

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                posted.append(json.loads(self.rfile.read(length)))
                self.send_json(200, b"ok")

        self.posted = posted
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack() -> Iterator[SlackWebhook]:
    webhook = SlackWebhook()
    yield webhook
    webhook.stop()


@invokes("ProviderHealthFunction", "provider_health_schedule")
def test_provider_health_runs_once_for_the_scheduled_hour(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN one call at 09:30, in the hour before the schedule's 10:15
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC).timestamp()
    UsageRepository(settings.usage_table, client=dynamodb).record(event(created_at=at))
    handlers = template_handler("ProviderHealthFunction", settings, monkeypatch)
    handler = next(handlers)
    try:
        scheduled = recorded_event("provider_health_schedule")
        context = LambdaContext(function_name="parley-provider-health", remaining_ms=600_000)
        first = handler(scheduled, context)
        again = handler(scheduled, context)
    finally:
        handlers.close()
    # THEN that hour is reported once, the call in it; the second delivery replays it
    assert first["complete"] is True, first
    assert first["hour"] == "2026-12-01T09"
    assert first["events"] == 1
    assert again == first
    assert len(dynamodb.scan(TableName=settings.idempotency_table)["Items"]) == 1


@invokes("SlackForwarderFunction", "slack_forwarder_sns")
def test_the_slack_forwarder_posts_the_alert_of_the_sns_record(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, slack: SlackWebhook
) -> None:
    handlers = template_handler(
        "SlackForwarderFunction", settings, monkeypatch, PARLEY_SLACK_WEBHOOK_URL=slack.url
    )
    handler = next(handlers)
    try:
        result = handler(recorded_event("slack_forwarder_sns"), LambdaContext("parley-slack"))
    finally:
        handlers.close()
    assert result == {"posted": 1}
    [body] = slack.posted
    assert body["text"].startswith(":rotating_light: *Firing*: "), body
    assert "acme" in body["text"]
