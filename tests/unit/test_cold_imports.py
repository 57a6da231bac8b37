"""Cold start: importing the core and the handlers never drags in a provider SDK or boto3."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

from tests.conftest import REPO

# Repositories serialise items with boto3's own TypeSerializer, so they (and the capabilities
# built on them, which need DynamoDB from their first request) load boto3; every other module
# defers it to the first call that needs a client.
LOADS_BOTO3 = (
    "parley.state.items",
    "parley.state.conversations",
    "parley.state.replies",
    "parley.state.usage",
    # Rollups are items too; the job and the analytics function read them from the start.
    "parley.analytics.store",
    "parley.analytics.sources",
    # Provider health's records are items too, and the CLI's operator functions build them.
    "parley.operations.health.store",
    "parley.operations.health.admin",
    # So are the alerts' state and history, which each evaluation and GET /v1/alerts read.
    "parley.operations.alerts",
    "parley.chat",
    # The feedback function stores every submission in a transaction from its first request.
    "parley.feedback",
    # Composition builds the clients of every capability.
    "parley.apps",
)
# Adapter module -> the one SDK it exists to import.
ADAPTERS = {
    "parley.providers.openai": "openai",
    "parley.providers.anthropic": "anthropic",
    "parley.providers.gemini": "google.genai",
}
PROVIDER_SDKS = ("openai", "anthropic", "google.genai", "google.generativeai")
# Powertools imports the bare `botocore` package (0.6 ms) to register its user agent; the
# session, clients and the X-Ray SDK are what cost hundreds of milliseconds.
HEAVY = ("boto3", "botocore.session", "botocore.client", "aws_xray_sdk", "upstash_redis", "moto")


def imported_after(statement: str) -> set[str]:
    probe = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PARLEY_ENV": "development", "POWERTOOLS_TRACE_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO / "functions" / "chat",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def loaded(modules: set[str], roots: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == r or m.startswith(f"{r}.") for r in roots)}


def library_modules() -> list[str]:
    import parley

    return sorted(info.name for info in pkgutil.walk_packages(parley.__path__, prefix="parley."))


def test_no_module_but_its_adapter_imports_a_provider_sdk() -> None:
    others = [name for name in library_modules() if name not in ADAPTERS]
    modules = imported_after("\n".join(f"import {name}" for name in others))
    assert loaded(modules, PROVIDER_SDKS) == set()


def test_each_adapter_imports_only_its_own_sdk() -> None:
    for adapter, sdk in ADAPTERS.items():
        modules = imported_after(f"import {adapter}")
        assert {name for name in PROVIDER_SDKS if name in modules} == {sdk}, adapter


def test_the_core_imports_no_aws_sdk_session() -> None:
    light = [name for name in library_modules() if not name.startswith(LOADS_BOTO3)]
    assert {"parley.config", "parley.http", "parley.auth", "parley.hot"} <= set(light)
    modules = imported_after("\n".join(f"import {name}" for name in light))
    assert loaded(modules, HEAVY) == set()


def test_the_chat_handler_imports_no_provider_sdk() -> None:
    # The chat function needs DynamoDB from its first request, so boto3 is expected here.
    modules = imported_after("import app\nassert app.app.title == 'Parley chat'")
    assert loaded(modules, PROVIDER_SDKS) == set()
    assert loaded(modules, ("aws_xray_sdk", "upstash_redis", "moto")) == set()
