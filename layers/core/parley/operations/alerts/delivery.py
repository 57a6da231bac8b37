"""Alert messages and their delivery to the SNS alerts topic.

A message is JSON (``message``: rule, scope, subject, status, value, baseline, threshold, unit,
window, samples, dashboard link, time) with a subject line a person reads in a mail client or a
pager (``subject_line``: at most 100 printable ASCII characters, as SNS requires). Email,
Slack (the forwarder function) and HTTPS subscribers (PagerDuty) all get the same message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from parley.operations.alerts.rules import SCOPE_SUBJECT, rule_named

if TYPE_CHECKING:
    from parley.operations.alerts.rules import Finding
    from parley.operations.alerts.store import Status

__all__ = ["DEPLOYMENT", "Publisher", "SnsPublisher", "alert_message", "subject_line"]

DEPLOYMENT = "deployment"  # the scope of the rules over every org's traffic
_MAX_SUBJECT = 100


class Publisher(Protocol):
    def publish(self, subject: str, message: dict[str, Any]) -> None:
        """Deliver one alert; raises when it could not (the state is then left to retry)."""


class _SnsClient(Protocol):
    def publish(self, **arguments: Any) -> Any: ...


class SnsPublisher:
    def __init__(self, topic_arn: str, client: _SnsClient | None = None) -> None:
        self._topic = topic_arn
        self._client = client

    def publish(self, subject: str, message: dict[str, Any]) -> None:
        if self._client is None:
            import boto3  # here: a process that never alerts does not pay for the client

            self._client = boto3.client("sns")
        self._client.publish(
            TopicArn=self._topic,
            Subject=subject,
            Message=json.dumps(message, separators=(",", ":")),
            MessageAttributes={
                "status": {"DataType": "String", "StringValue": message["status"]},
                "rule": {"DataType": "String", "StringValue": message["rule"]},
            },
        )


def alert_message(
    scope: str,
    finding: Finding,
    status: Status,
    *,
    at: float,
    dashboard_url: str | None,
) -> dict[str, Any]:
    rule = rule_named(finding.rule)
    return {
        "status": status,
        "rule": finding.rule,
        "title": rule.title,
        "scope": scope,
        "subject": finding.subject,
        "value": finding.value,
        "baseline": finding.baseline,
        "threshold": finding.threshold,
        "unit": rule.unit,
        "window": finding.window,
        "samples": finding.samples,
        "dashboard_url": dashboard_url,
        "at": datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="seconds"),
    }


def subject_line(message: dict[str, Any]) -> str:
    """``[Parley] FIRING p95 latency up week over week: org acme (1840 ms, limit 960 ms)``"""
    where = "the deployment" if message["scope"] == DEPLOYMENT else f"org {message['scope']}"
    if message["subject"] != SCOPE_SUBJECT:
        where += f", {message['subject']}"
    unit = message["unit"]
    figures = f"{_figure(message['value'], unit)}, limit {_figure(message['threshold'], unit)}"
    text = f"[Parley] {message['status'].upper()} {message['title']}: {where} ({figures})"
    printable = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return printable[:_MAX_SUBJECT]


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "usd":
        return f"${value:,.2f}"
    return f"{value:,.0f} {unit}"
