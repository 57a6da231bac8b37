"""EMF documents as Powertools prints them (one JSON line on stdout each), read back, and
checked against the metric inventory (parley.metrics_catalog)."""

from __future__ import annotations

import json
from typing import Any

from parley.metrics_catalog import metric_named


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    """Every EMF document among the captured lines (log lines and others are skipped)."""
    documents = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if isinstance(document, dict) and "CloudWatchMetrics" in document.get("_aws", {}):
            documents.append(document)
    return documents


def emitted(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metric name -> its unit and dimension sets, each as emitted (checked to agree)."""
    found: dict[str, dict[str, Any]] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            sets = frozenset(frozenset(names) for names in directive["Dimensions"])
            for metric in directive["Metrics"]:
                seen = {
                    "unit": metric["Unit"],
                    "dimension_sets": sets,
                    "namespace": directive["Namespace"],
                }
                assert found.setdefault(metric["Name"], seen) == seen, metric["Name"]
                for names in directive["Dimensions"]:
                    for name in names:
                        value = document[name]
                        assert isinstance(value, str), (metric["Name"], name)
                        assert value, (metric["Name"], name)
    return found


def assert_declared(found: dict[str, dict[str, Any]]) -> None:
    """Each emitted metric is the inventory's: its unit and its exact dimension sets."""
    for name, seen in found.items():
        declared = metric_named(name)
        assert seen["unit"] == declared.unit, name
        assert seen["dimension_sets"] == frozenset(
            frozenset(names) for names in declared.dimension_sets
        ), name
