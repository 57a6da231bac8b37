"""The ``parley`` command as an operator runs it, in its own process: against a loopback
DynamoDB it needs no AWS credentials, and whatever fails is one line on stderr and a non-zero
exit, never a traceback."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO
from tests.support.devserver import clean_env, parley
from tests.support.environment import table_variables
from tests.support.servers import free_port

if TYPE_CHECKING:
    from parley.config import Settings


def run(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        parley(*argv),
        cwd=REPO,
        # No AWS_* variable at all: no credentials, no profile, as on a fresh laptop.
        env={**clean_env(), "HOME": "/nonexistent", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("parley: ")
    return lines[0]


@pytest.fixture
def local(settings: Settings, moto_endpoint: str) -> dict[str, str]:
    """The environment of a process pointed at this test's tables on the loopback moto."""
    return {"AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint, **table_variables(settings)}


def test_jobs_run_against_a_loopback_endpoint_needs_no_aws_credentials(
    local: dict[str, str],
) -> None:
    done = run("jobs", "run", "learn-preferences", env=local)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["complete"] is True


def test_org_commands_against_a_loopback_endpoint_need_no_aws_credentials(
    local: dict[str, str],
) -> None:
    granted = run("org", "grant", "--org", "cli-org", "--tokens", "500", env=local)
    assert granted.returncode == 0, granted.stderr
    balance = run("org", "balance", "--org", "cli-org", env=local)
    assert json.loads(balance.stdout)["balance_tokens"] == 500


def test_a_future_hour_is_refused(local: dict[str, str]) -> None:
    hour = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H")
    line = one_line_failure(run("jobs", "run", "learn-preferences", "--hour", hour, env=local))
    assert "has not begun" in line


def test_the_current_hour_is_accepted(local: dict[str, str]) -> None:
    hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
    done = run("jobs", "run", "learn-preferences", "--hour", hour, env=local)
    assert done.returncode == 0, done.stderr


def test_an_unreachable_endpoint_is_one_line() -> None:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}"}
    assert "unreachable" in one_line_failure(run("jobs", "run", "learn-preferences", env=env))


def test_missing_tables_are_one_line(moto_endpoint: str) -> None:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint, "PARLEY_IDEMPOTENCY_TABLE": "no-such"}
    line = one_line_failure(run("jobs", "run", "learn-preferences", env=env))
    assert "no-such does not exist" in line


def test_a_remote_endpoint_without_credentials_says_what_to_set() -> None:
    # Credentials are only implied on loopback; elsewhere boto3 must find real ones.
    env = {"AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.eu-west-1.amazonaws.com"}
    line = one_line_failure(run("org", "show", "--org", "acme", env=env))
    assert "AWS_ACCESS_KEY_ID" in line


def test_a_number_too_large_for_dynamodb_is_one_line(local: dict[str, str]) -> None:
    line = one_line_failure(
        run("org", "grant", "--org", "cli-org", "--tokens", "9" * 40, env=local)
    )
    assert "at most" in line


@pytest.mark.parametrize("argv", [("--user", ""), ("--user", "u", "--ttl", "0")])
def test_parley_token_refuses_a_token_no_server_would_accept(argv: tuple[str, ...]) -> None:
    done = run("token", *argv, env={})
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
