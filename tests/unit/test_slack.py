"""The Slack forwarder: SNS events from the alerts topic, posted to a webhook served on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from parley.config import Settings
from parley.errors import ConfigurationError, UpstreamError
from parley.operations.slack import SlackForwarder, slack_handler, slack_message

if TYPE_CHECKING:
    from collections.abc import Iterator

ALERT = {
    "rule": "ttft_p95_regression",
    "subject": "gpt-4o-mini: p95 time to first token up 80%",
    "value": 1800,
    "baseline": 1000,
    "threshold": 1.5,
    "window": "1h",
    "status": "firing",
    "dashboard_url": "https://us-east-1.console.aws.amazon.com/cloudwatch/home#dashboards/dashboard/p",
    "scope": {"model": "gpt-4o-mini", "provider": "openai"},
}


class Webhook:
    """A Slack webhook on 127.0.0.1: records each JSON body, answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                webhook.bodies.append(json.loads(self.rfile.read(length)))
                answer = b"ok" if webhook.status == 200 else b"invalid_payload"
                self.send_response(webhook.status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T/B/secret"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def sns_event(*messages: str, subject: str | None = None) -> dict[str, Any]:
    records = [
        {"EventSource": "aws:sns", "Sns": {"Message": message, "Subject": subject}}
        for message in messages
    ]
    return {"Records": records}


def forwarder(webhook: Webhook) -> SlackForwarder:
    return SlackForwarder(webhook.url, httpx.Client())


def test_a_parley_alert_is_posted_with_its_figures_scope_and_dashboard(webhook: Webhook) -> None:
    posted = forwarder(webhook).forward(sns_event(json.dumps(ALERT)))
    assert posted == 1
    (body,) = webhook.bodies
    text = body["text"]
    assert text.startswith(":rotating_light: *Firing*: gpt-4o-mini: p95 time to first token up 80%")
    assert "rule `ttft_p95_regression` · model gpt-4o-mini, provider openai" in text
    assert "value 1800, baseline 1000, threshold 1.5 over 1h" in text
    assert f"<{ALERT['dashboard_url']}|Open the dashboard>" in text
    assert body["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def test_a_resolved_alert_says_so() -> None:
    resolved = {**ALERT, "status": "resolved", "scope": "org acme"}
    text = slack_message(json.dumps(resolved))["text"]
    assert text.startswith(":white_check_mark: *Resolved*:")
    assert "rule `ttft_p95_regression` · org acme" in text


def test_a_cloudwatch_alarm_on_the_topic_is_posted_with_its_state_and_reason() -> None:
    alarm = {
        "AlarmName": "parley-ChatErrorRateAlarm",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 3 datapoints were greater than 10.0",
    }
    text = slack_message(json.dumps(alarm))["text"]
    assert text == (
        ":rotating_light: *ALARM*: parley-ChatErrorRateAlarm\n"
        "Threshold Crossed: 3 datapoints were greater than 10.0"
    )


@pytest.mark.parametrize(
    "message",
    [
        "Disk on fire <@channel> & more",  # not JSON
        json.dumps(["a", "list"]),  # JSON, not an object
        json.dumps({"rule": "r", "status": "paused"}),  # not an alert's status
        json.dumps({"AlarmName": 3, "NewStateValue": "ALARM"}),  # a field of another type
    ],
)
def test_any_other_message_is_posted_as_its_escaped_text(webhook: Webhook, message: str) -> None:
    forwarder(webhook).forward(sns_event(message, subject="Manual <note>"))
    (body,) = webhook.bodies
    escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert body["text"] == f"*Manual &lt;note&gt;*\n{escaped}"


def test_markup_in_an_alert_cannot_mention_or_link() -> None:
    hostile = {
        **ALERT,
        "subject": "<!channel> <http://evil|click>",
        "dashboard_url": "javascript:x",
    }
    text = slack_message(json.dumps(hostile))["text"]
    assert "&lt;!channel&gt; &lt;http://evil|click&gt;" in text
    assert "<!channel>" not in text
    assert "Open the dashboard" not in text  # only an https link is linked


def test_every_record_of_an_event_is_posted_and_one_without_a_message_skipped(
    webhook: Webhook,
) -> None:
    event = sns_event("one", "two")
    event["Records"].append({"Sns": {}})
    assert forwarder(webhook).forward(event) == 2
    assert [body["text"] for body in webhook.bodies] == ["one", "two"]


def test_a_refused_post_raises_so_that_lambda_retries_without_the_url(webhook: Webhook) -> None:
    webhook.status = 400
    with pytest.raises(UpstreamError, match="400 invalid_payload") as raised:
        forwarder(webhook).forward(sns_event("x"))
    assert "secret" not in str(raised.value)


def test_an_unreachable_webhook_raises() -> None:
    unreachable = SlackForwarder("http://127.0.0.1:9/hook", httpx.Client())
    with pytest.raises(UpstreamError, match="could not be reached"):
        unreachable.forward(sns_event("x"))


def test_the_handler_posts_to_the_configured_webhook(webhook: Webhook) -> None:
    handler = slack_handler(Settings(slack_webhook_url=webhook.url))
    assert handler(sns_event(json.dumps(ALERT)), None) == {"posted": 1}
    assert webhook.bodies[0]["text"].startswith(":rotating_light:")
    with pytest.raises(ConfigurationError, match="PARLEY_SLACK_WEBHOOK_URL"):
        slack_handler(Settings())
