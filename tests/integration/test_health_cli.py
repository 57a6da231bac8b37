"""``parley health`` in-process against this test's tables: the newest hour as a table or JSON,
a named hour, ``reset MODEL`` on the DynamoDB hot store audited as the operator, and one-line
failures with exit 2 (a bad hour, an hour not reported, a model outside the catalog, the
memory hot store that no deployment shares)."""

from __future__ import annotations

import asyncio
import getpass
from typing import TYPE_CHECKING

import pytest

from parley.cli import main
from parley.config import get_settings
from parley.hot.dynamodb import DynamoDBHotStore
from parley.operations.health.figures import change, figures_of
from parley.operations.health.records import HealthRecord, HourSummary
from parley.operations.health.store import HealthRepository
from parley.routing.breaker import CircuitBreaker
from tests.support.rollups import event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from tests.support.cli import CliRun

HOUR = "2026-12-01T08"
CIRCUIT = "openai:gpt-4.1"


@pytest.fixture
def reported(settings: Settings, dynamodb: DynamoDBClient) -> HealthRepository:
    store = HealthRepository(settings.analytics_table, client=dynamodb)
    records = []
    for provider, model, calls in (("openai", "gpt-4.1", 8), ("anthropic", "claude-haiku-4-5", 3)):
        now = figures_of(
            [event(provider=provider, model=model, latency_ms=1200.0)] * (calls - 1)
            + [event(provider=provider, model=model, success=False, error_code="provider_error")]
        )[provider, model].summary()
        then = figures_of([event(provider=provider, model=model, latency_ms=800.0)] * 4)[
            provider, model
        ].summary()
        records.append(
            HealthRecord(
                hour=HOUR,
                provider=provider,
                model=model,
                **now,
                baseline={"hour": "2026-11-24T08", **then},
                change=change(now, then),
                breaker={"status": "closed", "open_until": None, "window": {}, "trips": 0},
            )
        )
    store.put_hour(HourSummary(HOUR, "2026-11-24T08", 1.0, 11, 8, 2), records)
    return store


def test_health_prints_records_as_json_or_a_table(reported: HealthRepository, cli: CliRun) -> None:
    code, document, err = cli("health", "--json")
    assert (code, err) == (0, "")
    assert document["hour"] == HOUR
    assert [(r["provider"], r["model"], r["calls"]) for r in document["records"]] == [
        ("anthropic", "claude-haiku-4-5", 3),
        ("openai", "gpt-4.1", 8),
    ]
    code, named, _ = cli("health", "--hour", HOUR, "--json")
    assert (code, named) == (0, document)


def test_health_prints_a_table_by_default(
    reported: HealthRepository, cli: CliRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["health"]) == 0  # the cli fixture points the settings at this test's tables
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Provider health, {HOUR} UTC against 2026-11-24T08 (11 calls against 8)"
    assert lines[1].split()[:3] == ["PROVIDER", "MODEL", "CALLS"]
    gpt = lines[3].split()
    assert gpt[:5] == ["openai", "gpt-4.1", "8", "(x2.00)", "12.5%"]
    assert "(+12.5)" in lines[3]  # points more than the baseline's 0%
    assert "1200 (x1.49)" in lines[3]  # p95 against 800 ms, in DDSketch's 1%


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("health", "--hour", "2026-13-01T08"), "is not a UTC hour"),
        (("health", "--hour", "2026-11-01T08"), "No provider health for 2026-11-01T08"),
        (("health", "reset", "gpt-9"), "No model 'gpt-9' in the catalog"),
    ],
)
def test_known_failures_are_one_line_and_exit_2(
    reported: HealthRepository,
    cli: CliRun,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.setenv("PARLEY_HOT_BACKEND", "dynamodb")
    code, out, err = cli(*argv)
    assert (code, out) == (2, None)
    assert err.startswith("parley: ")
    assert message in err
    assert err.count("\n") == 1


def test_a_reset_needs_the_deployments_hot_store(reported: HealthRepository, cli: CliRun) -> None:
    code, _, err = cli("health", "reset", "gpt-4.1")  # development: the memory backend
    assert code == 2
    assert "PARLEY_HOT_BACKEND" in err
    assert reported.audit(limit=5) == []


def test_reset_closes_the_circuit_and_is_audited_as_the_operator(
    reported: HealthRepository,
    cli: CliRun,
    settings: Settings,
    dynamodb: DynamoDBClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PARLEY_HOT_BACKEND", "dynamodb")
    breaker = CircuitBreaker(DynamoDBHotStore(settings.hot_table, client=dynamodb))

    async def trip() -> None:
        for _ in range(breaker.policy.min_requests):
            await breaker.record(CIRCUIT, success=False)

    asyncio.run(trip())
    capsys.readouterr()  # the breaker's log lines

    code, entry, err = cli("health", "reset", "gpt-4.1")
    assert (code, err) == (0, "")
    assert (entry["user_id"], entry["org_id"], entry["via"]) == (getpass.getuser(), None, "cli")
    assert entry["breaker_before"]["status"] == "open"
    assert asyncio.run(breaker.state(CIRCUIT)).status == "closed"

    monkeypatch.setenv("PARLEY_OPERATOR", "jane@ops")
    get_settings.cache_clear()  # the settings are read once per process
    code, second, _ = cli("health", "reset", "claude-haiku-4-5")
    assert (code, second["user_id"], second["breaker_before"]["status"]) == (
        0,
        "jane@ops",
        "closed",
    )
    assert [e.user_id for e in reported.audit(limit=5)] == ["jane@ops", getpass.getuser()]
    code, shown, _ = cli("health", "--json")
    resets = {r["model"]: r["reset"] for r in shown["records"]}
    assert resets["gpt-4.1"]["user_id"] == getpass.getuser()
    assert resets["claude-haiku-4-5"]["user_id"] == "jane@ops"
