"""The template's operations: the dashboard is infra/dashboard.json and names only metrics the
code emits, every alarm watches something real and tells the alerts topic, every function,
table and scheduled job is watched, and the alert delivery exists only when configured."""

from __future__ import annotations

import json
import re
import sys
import typing
from typing import Any

import pytest

from parley.guardrails.guard import FailSafe
from parley.metrics_catalog import metric_named
from parley.state.template import load_template
from tests.conftest import REPO, TEMPLATE

sys.path.insert(0, str(REPO / "infra"))
import render_dashboard

RESOURCES: dict[str, Any] = load_template(TEMPLATE)["Resources"]
GLOBAL_ENV = load_template(TEMPLATE)["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE = GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]
DASHBOARD = json.loads((REPO / "infra" / "dashboard.json").read_text())


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


FUNCTIONS = of_type("AWS::Serverless::Function")
ALARMS = of_type("AWS::CloudWatch::Alarm")
TABLES = of_type("AWS::DynamoDB::Table")
SCHEDULED = {
    name
    for name, f in FUNCTIONS.items()
    if any(e["Type"] == "ScheduleV2" for e in f["Properties"].get("Events", {}).values())
}


def test_the_template_holds_the_dashboard_file_as_rendered() -> None:
    assert render_dashboard.main(["--check"]) == 0
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert json.loads(body) == DASHBOARD


def test_the_renderer_replaces_only_the_body() -> None:
    template = f"A:\n{render_dashboard.MARKER}\n        old\n        lines\nB: 1\n"
    rendered = render_dashboard.render(template, {"widgets": [{"type": "text"}, {"x": 1}]})
    assert rendered == (
        f"A:\n{render_dashboard.MARKER}\n"
        '        {"widgets": [\n'
        '          {"type":"text"},\n'
        '          {"x":1}\n'
        "        ]}\n"
        "B: 1\n"
    )


def parley_metrics_of_widget(widget: dict[str, Any]) -> list[tuple[str, frozenset[str]]]:
    """(metric, dimension names) of each Parley metric a widget shows: rows and SEARCHes."""
    found = []
    for row in widget.get("properties", {}).get("metrics", []):
        first = row[0]
        if isinstance(first, dict):
            expression = first["expression"]
            for names, metric in re.findall(
                r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"", expression
            ):
                namespace, *dimensions = names.split(",")
                assert namespace == NAMESPACE, expression
                found.append((metric, frozenset(dimensions)))
            continue
        if first != NAMESPACE:
            continue
        metric, *rest = row[1:]
        pairs = [item for item in rest if isinstance(item, str)]
        dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
        assert dimensions["service"] == SERVICE, row
        found.append((metric, frozenset(dimensions)))
    return found


def test_every_dashboard_widget_shows_metrics_the_code_emits_with_their_dimensions() -> None:
    shown = [m for widget in DASHBOARD["widgets"] for m in parley_metrics_of_widget(widget)]
    assert len(shown) > 20
    for metric, dimensions in shown:
        declared = {frozenset(names) for names in metric_named(metric).dimension_sets}
        assert dimensions in declared, (metric, sorted(dimensions))
    # Every metric widget has something to show; the SEARCH expressions are well formed.
    for widget in DASHBOARD["widgets"]:
        if widget["type"] == "metric":
            assert widget["properties"]["metrics"], widget["properties"]["title"]


def test_the_dashboard_names_only_resources_that_always_exist() -> None:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for name in re.findall(r"\$\{([\w:.]+)\}", body):
        resource = name.split(".")[0]
        if resource.startswith("AWS::"):
            continue
        assert resource in RESOURCES, name
        assert "Condition" not in RESOURCES[resource], name
    (alarm_widget,) = [w for w in DASHBOARD["widgets"] if w["type"] == "alarm"]
    listed = {
        a.removeprefix("${").removesuffix(".Arn}") for a in alarm_widget["properties"]["alarms"]
    }
    assert listed == {name for name, alarm in ALARMS.items() if "Condition" not in alarm}


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    properties = alarm["Properties"]
    if "Metrics" in properties:
        return [m["MetricStat"]["Metric"] for m in properties["Metrics"] if "MetricStat" in m]
    return [
        {key: properties[key] for key in ("Namespace", "MetricName", "Dimensions")},
    ]


def test_every_alarm_tells_the_alerts_topic_and_watches_a_metric_that_exists() -> None:
    assert len(ALARMS) >= 30
    for name, alarm in ALARMS.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlertsTopic"}], name
        assert properties["OKActions"] == [{"Ref": "AlertsTopic"}], name
        assert properties["TreatMissingData"] == "notBreaching", name
        if "Metrics" in properties:  # metric math: exactly one expression is the alarm's
            assert [m.get("ReturnData", True) for m in properties["Metrics"]].count(True) == 1
        for metric in alarm_metrics(alarm):
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            if metric["Namespace"] == NAMESPACE:
                declared = {frozenset(n) for n in metric_named(metric["MetricName"]).dimension_sets}
                assert frozenset(dimensions) in declared, (name, metric)
                assert dimensions["service"] == SERVICE, name
            else:
                assert metric["Namespace"] in {"AWS/Lambda", "AWS/DynamoDB", "AWS/SQS"}, name
                for value in dimensions.values():
                    (target,) = value.values()
                    target = target[0] if isinstance(target, list) else target
                    assert target in RESOURCES, (name, value)


def watched(namespace: str, metric: str, dimension: str) -> set[str]:
    """The resources named (by Ref or GetAtt) by alarms on ``metric``'s ``dimension``."""
    found = set()
    for alarm in ALARMS.values():
        for watched_metric in alarm_metrics(alarm):
            if (watched_metric["Namespace"], watched_metric["MetricName"]) != (namespace, metric):
                continue
            for d in watched_metric["Dimensions"]:
                if d["Name"] == dimension:
                    (target,) = d["Value"].values()
                    found.add(target[0] if isinstance(target, list) else target)
    return found


def test_every_function_table_and_scheduled_job_is_watched() -> None:
    assert watched("AWS/Lambda", "Errors", "FunctionName") == set(FUNCTIONS)
    assert watched("AWS/Lambda", "Throttles", "FunctionName") == set(FUNCTIONS) - {
        "SlackForwarderFunction"
    }
    assert watched("AWS/DynamoDB", "ReadThrottleEvents", "TableName") == set(TABLES)
    assert watched("AWS/DynamoDB", "WriteThrottleEvents", "TableName") == set(TABLES)
    assert {
        "LearnPreferencesFunction",
        "AggregateUsageFunction",
        "ProviderHealthFunction",
    } == SCHEDULED
    queues = set()
    for name in SCHEDULED:
        dead_letter = FUNCTIONS[name]["Properties"]["DeadLetterQueue"]
        assert dead_letter["Type"] == "SQS"
        queue = dead_letter["TargetArn"]["Fn::GetAtt"][0]
        assert RESOURCES[queue]["Type"] == "AWS::SQS::Queue"
        queues.add(queue)
    assert watched("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName") == queues
    jobs = set()
    for alarm in ALARMS.values():
        for metric in alarm_metrics(alarm):
            if metric["MetricName"] == "JobFailures":
                jobs |= {d["Value"] for d in metric["Dimensions"] if d["Name"] == "job"}
    inputs = {
        json.loads(event["Properties"]["Input"])["job"]
        for name in SCHEDULED
        for event in FUNCTIONS[name]["Properties"]["Events"].values()
    }
    assert jobs == inputs == {"learn-preferences", "aggregate-usage", "provider-health"}


def test_the_fail_safe_alarm_sums_every_reason_the_guardrail_counts() -> None:
    alarm = ALARMS["GuardrailFailSafeAlarm"]["Properties"]
    reasons = set()
    for metric in alarm_metrics(ALARMS["GuardrailFailSafeAlarm"]):
        assert metric["MetricName"] == "GuardrailFailSafe"
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert set(dimensions) == {"reason", "service"}
        reasons.add(dimensions["reason"])
    # chat.safety counts every fail-safe but no_model (no classifier configured: no alarm).
    assert reasons == set(typing.get_args(FailSafe)) - {"no_model"}
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    assert all(f"FILL({reason}, 0)" in expression for reason in reasons)
    assert alarm["Threshold"] == 1
    assert {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m} == {300}


def test_alert_delivery_is_created_only_when_configured() -> None:
    parameters = load_template(TEMPLATE)["Parameters"]
    assert parameters["SlackWebhookUrl"]["NoEcho"] is True
    slack = FUNCTIONS["SlackForwarderFunction"]
    assert slack["Condition"] == "HasSlackWebhook"
    assert slack["Properties"]["Handler"] == "app.handler"
    assert (REPO / "functions" / "slack" / "app.py").is_file()
    (event,) = slack["Properties"]["Events"].values()
    assert event == {"Type": "SNS", "Properties": {"Topic": {"Ref": "AlertsTopic"}}}
    env = slack["Properties"]["Environment"]["Variables"]
    assert env == {"PARLEY_SLACK_WEBHOOK_URL": {"Ref": "SlackWebhookUrl"}}
    https = RESOURCES["AlertHttpsSubscription"]
    assert https["Condition"] == "HasAlertHttpsEndpoint"
    assert https["Properties"]["Protocol"] == "https"
    # CloudWatch cannot publish to a topic under the AWS-managed key.
    assert RESOURCES["AlertsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertsKey"}
    statements = RESOURCES["AlertsKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def test_the_aggregation_publishes_alerts_linking_the_dashboard_it_names() -> None:
    function = FUNCTIONS["AggregateUsageFunction"]["Properties"]
    env = function["Environment"]["Variables"]
    assert env["PARLEY_ALERTS_TOPIC_ARN"] == {"Ref": "AlertsTopic"}
    name = RESOURCES["OperationsDashboard"]["Properties"]["DashboardName"]["Fn::Sub"]
    assert env["PARLEY_DASHBOARD_URL"]["Fn::Sub"].endswith(f"#dashboards/dashboard/{name}")
    assert {
        "SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": ["AlertsTopic", "TopicName"]}}
    } in (function["Policies"])


@pytest.mark.parametrize(
    ("function", "policies"),
    [
        (
            "ProviderHealthFunction",
            [
                {"DynamoDBReadPolicy": {"TableName": {"Ref": "UsageTable"}}},
                {"DynamoDBCrudPolicy": {"TableName": {"Ref": "AnalyticsTable"}}},
                {"DynamoDBReadPolicy": {"TableName": {"Ref": "HotTable"}}},
            ],
        ),
        (
            "AnalyticsFunction",
            [
                {"DynamoDBReadPolicy": {"TableName": {"Ref": "UsageTable"}}},
                {"DynamoDBCrudPolicy": {"TableName": {"Ref": "HotTable"}}},
            ],
        ),
    ],
)
def test_the_health_functions_may_read_what_they_read(function: str, policies: list[Any]) -> None:
    given = FUNCTIONS[function]["Properties"]["Policies"]
    assert all(policy in given for policy in policies)


def test_the_provider_health_job_runs_as_the_other_jobs_do() -> None:
    health = FUNCTIONS["ProviderHealthFunction"]["Properties"]
    aggregate = FUNCTIONS["AggregateUsageFunction"]["Properties"]
    assert health["Handler"] == "handlers.provider_health"
    assert health["CodeUri"] == aggregate["CodeUri"] == "functions/jobs/"
    assert (health["Timeout"], health["MemorySize"]) == (
        aggregate["Timeout"],
        aggregate["MemorySize"],
    )
    schedule = health["Events"]["Hourly"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(15 * * * ? *)"
    assert health["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-provider-health"}
    logs = RESOURCES["ProviderHealthFunctionLogs"]["Properties"]
    assert logs["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${ProviderHealthFunction}"}
    assert (
        'provider_health = lambda_handler("provider-health")'
        in (REPO / "functions" / "jobs" / "handlers.py").read_text()
    )
