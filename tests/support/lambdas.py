"""Calling a function's entry point as Lambda does: its module imported from its folder, a
context, and the recorded events in tests/events/."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.conftest import REPO
from tests.support.environment import tables_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

    from parley.config import Settings

__all__ = ["Handler", "LambdaContext", "function_handler", "recorded_event"]

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LambdaContext:
    """The parts of a Lambda context that Mangum, Powertools and the job handler read."""

    function_name: str = "parley-test"
    remaining_ms: int = 30_000
    aws_request_id: str = "6f1a2b3c-0000-4000-8000-000000000001"
    memory_limit_in_mb: int = 512

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def recorded_event(name: str, **values: str) -> dict[str, Any]:
    """tests/events/<name>.json with each ``{{key}}`` replaced by ``values[key]``."""
    raw = (REPO / "tests" / "events" / f"{name}.json").read_text(encoding="utf-8")
    for key, value in values.items():
        raw = raw.replace("{{" + key + "}}", value.replace('"', '\\"'))
    event: dict[str, Any] = json.loads(raw)
    return event


def function_handler(
    folder: str,
    module: str,
    attribute: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Handler]:
    """``functions/<folder>/<module>.py``'s ``attribute``, imported as Lambda imports it (a
    fresh module, settings read from the environment) with this test's tables."""
    name = f"{folder}_function_{module}"
    with tables_of(settings, monkeypatch):
        spec = importlib.util.spec_from_file_location(
            name, REPO / "functions" / folder / f"{module}.py"
        )
        assert spec is not None
        assert spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        try:
            yield getattr(loaded, attribute)
        finally:
            sys.modules.pop(name, None)
