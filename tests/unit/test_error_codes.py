"""Every public error code means one thing: clients branch on ``code``, so two errors with one
code must agree on their status and on whether retrying may help."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import parley
from parley.errors import ParleyError


def every_error_class() -> list[type[ParleyError]]:
    # Every module imported, so that every subclass is defined, wherever it lives.
    for info in pkgutil.walk_packages(parley.__path__, prefix="parley."):
        if not info.name.startswith("parley.apps.dev.localdb"):  # needs moto (dev only)
            importlib.import_module(info.name)
    found: list[type[ParleyError]] = []
    pending = [ParleyError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


def test_no_two_errors_share_a_code_with_another_status_or_retryability() -> None:
    meanings: dict[str, set[tuple[int, bool]]] = defaultdict(set)
    holders: dict[str, list[str]] = defaultdict(list)
    for kind in every_error_class():
        meanings[kind.code].add((kind.status, kind.retryable))
        holders[kind.code].append(f"{kind.__module__}.{kind.__qualname__}")
    ambiguous = {
        code: (sorted(meaning), holders[code])
        for code, meaning in meanings.items()
        if len(meaning) > 1
    }
    assert ambiguous == {}


def test_the_walk_finds_errors_across_the_library() -> None:
    names = {kind.__name__ for kind in every_error_class()}
    assert {
        "ProviderNotConfigured",
        "CircuitOpen",
        "IdempotencyInProgress",
        "UnstorableValue",
    } <= names
