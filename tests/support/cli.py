"""The ``parley`` command run in-process against one test's tables."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from parley.cli import main
from tests.support.environment import tables_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

    from parley.config import Settings

__all__ = ["CliRun", "in_process_cli"]

CliRun = Callable[..., tuple[int, Any, str]]


def in_process_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[CliRun]:
    """Yields ``run(*argv) -> (exit code, stdout as JSON or None, stderr)``, with every table
    variable naming this test's table."""

    def run(*argv: str) -> tuple[int, Any, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    with tables_of(settings, monkeypatch):
        yield run
