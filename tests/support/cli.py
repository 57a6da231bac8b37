"""The ``parley`` command run in-process against one test's tables."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from parley.cli import main
from parley.config import get_settings
from parley.state.client import dynamodb_client
from parley.state.tables import table_definitions
from parley.state.template import load_template
from tests.conftest import TEMPLATE

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

    from parley.config import Settings

__all__ = ["CliRun", "in_process_cli"]

CliRun = Callable[..., tuple[int, Any, str]]


def in_process_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[CliRun]:
    """Yields ``run(*argv) -> (exit code, stdout as JSON or None, stderr)``. Every table
    variable names this test's table; the cached settings and client are rebuilt around it."""
    for definition in table_definitions(load_template(TEMPLATE)):
        monkeypatch.setenv(f"PARLEY_{definition.settings_field.upper()}", definition.name(settings))
    get_settings.cache_clear()
    dynamodb_client.cache_clear()

    def run(*argv: str) -> tuple[int, Any, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    yield run
    get_settings.cache_clear()
    dynamodb_client.cache_clear()
