"""Alerts to Slack: the alerts topic's messages, as Slack incoming-webhook posts.

The alerts topic (template.yaml ``AlertsTopic``) carries two kinds of message, and a forwarder
subscribed to it sees both:

- Parley's own alerts (the regression alerts, ``parley.operations.alerts``): JSON with
  ``rule, subject, value, baseline, threshold, window, status, dashboard_url, scope``;
- CloudWatch alarms' notifications: JSON with ``AlarmName, NewStateValue, NewStateReason``.

Anything else (a message published by hand, a field missing or of another type) is posted as
its text, so that nothing sent to the topic is lost on the way to Slack. A post that Slack does
not accept raises, so that Lambda retries the SNS delivery (twice, asynchronously).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from parley.errors import ConfigurationError, UpstreamError
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.config import Settings

__all__ = ["SlackForwarder", "slack_handler", "slack_message"]

# Slack answers a webhook in well under a second; a stuck post must not hold the function.
_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
# Slack truncates a section's text at 3000 characters; a raw message is cut before that.
_MAX_TEXT = 2900


def slack_message(message: str, subject: str | None = None) -> dict[str, Any]:
    """The webhook body for one SNS message (``subject`` is the SNS subject, if any)."""
    try:
        parsed = json.loads(message)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        if isinstance(parsed.get("rule"), str) and parsed.get("status") in ("firing", "resolved"):
            return _body(_parley_alert(parsed))
        if isinstance(parsed.get("AlarmName"), str) and isinstance(
            parsed.get("NewStateValue"), str
        ):
            return _body(_cloudwatch_alarm(parsed))
    heading = f"*{_escape(subject)}*\n" if subject else ""
    return _body(heading + _escape(message[:_MAX_TEXT]))


def _parley_alert(alert: dict[str, Any]) -> str:
    firing = alert["status"] == "firing"
    mark = ":rotating_light: *Firing*" if firing else ":white_check_mark: *Resolved*"
    subject = _text(alert.get("subject")) or alert["rule"]
    lines = [f"{mark}: {_escape(subject)}"]
    facts = [f"rule `{_escape(alert['rule'])}`"]
    scope = alert.get("scope")
    if isinstance(scope, dict) and scope:
        facts.append(", ".join(f"{_escape(str(k))} {_escape(str(v))}" for k, v in scope.items()))
    elif isinstance(scope, str) and scope:
        facts.append(_escape(scope))
    lines.append(" · ".join(facts))
    figures = [
        f"{label} {_escape(str(alert[key]))}"
        for key, label in (("value", "value"), ("baseline", "baseline"), ("threshold", "threshold"))
        if alert.get(key) is not None
    ]
    window = _text(alert.get("window"))
    if figures:
        lines.append(", ".join(figures) + (f" over {_escape(window)}" if window else ""))
    url = _text(alert.get("dashboard_url"))
    if url.startswith("https://"):
        lines.append(f"<{_escape(url)}|Open the dashboard>")
    return "\n".join(lines)


def _cloudwatch_alarm(alarm: dict[str, Any]) -> str:
    state = alarm["NewStateValue"]
    mark = {"ALARM": ":rotating_light:", "OK": ":white_check_mark:"}.get(state, ":grey_question:")
    lines = [f"{mark} *{_escape(state)}*: {_escape(alarm['AlarmName'])}"]
    reason = _text(alarm.get("NewStateReason"))
    if reason:
        lines.append(_escape(reason[:_MAX_TEXT]))
    return "\n".join(lines)


def _body(text: str) -> dict[str, Any]:
    # ``text`` is also the notification's fallback; the section renders the same mrkdwn.
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _escape(text: str) -> str:
    # Slack's mrkdwn reads these three as markup (links, mentions); everything else is text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class SlackForwarder:
    webhook_url: str
    client: httpx.Client

    def forward(self, event: dict[str, Any]) -> int:
        """Post each SNS record of ``event``; the number posted. Raises when Slack refuses
        one or cannot be reached (Lambda then retries the delivery)."""
        posted = 0
        for record in event.get("Records", []):
            sns = record.get("Sns", {}) if isinstance(record, dict) else {}
            message = sns.get("Message")
            if not isinstance(message, str):
                logger.warning("SNS record without a message; skipped")
                continue
            subject = sns.get("Subject") if isinstance(sns.get("Subject"), str) else None
            self._post(slack_message(message, subject))
            posted += 1
        return posted

    def _post(self, body: dict[str, Any]) -> None:
        try:
            response = self.client.post(self.webhook_url, json=body, timeout=_TIMEOUT)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Slack could not be reached: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            # Slack's body is a short reason ("invalid_payload", "no_service"); never the URL,
            # which is the webhook's secret.
            raise UpstreamError(
                f"Slack refused the alert: {response.status_code} {response.text[:200]}"
            )


def slack_handler(
    settings: Settings, client: httpx.Client | None = None
) -> Callable[[dict[str, Any], Any], dict[str, int]]:
    """The forwarder function's Lambda handler (``functions/slack/app.py``)."""
    if settings.slack_webhook_url is None:
        raise ConfigurationError("PARLEY_SLACK_WEBHOOK_URL is not set.")
    forwarder = SlackForwarder(
        settings.slack_webhook_url.get_secret_value(), client or httpx.Client()
    )

    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        return {"posted": forwarder.forward(event)}

    return handler
