"""Telemetry objects are created once; metrics come out as EMF in the configured namespace."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.metrics import MetricUnit

from parley import telemetry


def test_the_tracer_is_built_on_first_use_and_only_once() -> None:
    from parley.telemetry import tracer

    assert isinstance(tracer, Tracer)
    assert telemetry.tracer is tracer


def test_unknown_attributes_still_raise() -> None:
    with pytest.raises(AttributeError):
        _ = telemetry.nothing_here  # type: ignore[attr-defined]


def test_metrics_flush_as_emf_in_the_configured_namespace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    telemetry.metrics.add_metric(name="Probe", unit=MetricUnit.Count, value=2)
    telemetry.metrics.flush_metrics()
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Parley"
    assert directive["Metrics"] == [{"Name": "Probe", "Unit": "Count"}]
    assert document["Probe"] == [2.0]
    assert document["service"] == "parley"
