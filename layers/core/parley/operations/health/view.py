"""What ``GET /v1/health/providers`` and ``parley health`` print: an hour's records, each with
its model's last reset, and the CLI's table of them (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from parley.operations.health.records import HealthHour, ResetMark

__all__ = ["health_document", "health_table"]


def health_document(found: HealthHour | None, resets: Mapping[str, ResetMark]) -> dict[str, Any]:
    """The hour's summary and records; each record's ``reset`` is its model's last reset (a
    reset after the record's hour means its figures predate it). No hour: empty."""
    if found is None:
        return {"hour": None, "baseline_hour": None, "computed_at": None, "records": []}
    summary = found.summary
    records = []
    for record in found.records:
        mark = resets.get(record.model)
        reset = None if mark is None else {k: v for k, v in mark.document().items() if k != "model"}
        records.append({**record.document(), "reset": reset})
    return {
        "hour": summary.hour,
        "baseline_hour": summary.baseline_hour,
        "computed_at": summary.computed_at,
        "events": summary.events,
        "baseline_events": summary.baseline_events,
        "records": records,
    }


_COLUMNS = ("PROVIDER", "MODEL", "CALLS", "ERRORS", "P95 MS", "TTFT P95", "BREAKER", "TRIPS")


def health_table(document: Mapping[str, Any]) -> str:
    """``health_document`` as a table: each figure with its change against the baseline in
    brackets (ratios as x1.50, the error rate in points), a reset marked with ``*``."""
    if document["hour"] is None:
        return "No provider health yet: the provider-health job has not run."
    rows = [_COLUMNS]
    for record in document["records"]:
        change, breaker = record["change"], record["breaker"]
        rows.append(
            (
                record["provider"],
                record["model"] + ("*" if record["reset"] else ""),
                f"{record['calls']}{_ratio(change['calls_ratio'])}",
                f"{_percent(record['error_rate'])}{_points(change['error_rate_delta'])}",
                f"{_number(record['latency_ms']['p95'])}{_ratio(change['latency_p95_ratio'])}",
                f"{_number(record['ttft_ms']['p95'])}{_ratio(change['ttft_p95_ratio'])}",
                "-" if breaker is None else breaker["status"],
                "-" if breaker is None else str(breaker["trips"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    header = (
        f"Provider health, {document['hour']} UTC against {document['baseline_hour']} "
        f"({document['events']} calls against {document['baseline_events']})"
    )
    footer = "* reset by an operator: see GET /v1/health/audit"
    marked = any(record["reset"] for record in document["records"])
    return "\n".join([header, *(line.rstrip() for line in lines), *([footer] if marked else [])])


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _points(delta: float | None) -> str:
    return "" if delta is None else f" ({delta * 100:+.1f})"


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f" (x{ratio:.2f})"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
