"""Saving a versioned document: read, change, put conditionally, and what a lost race means;
and the JSON text a document is stored as."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from parley.errors import ConfigurationError, Conflict, PreconditionFailed, ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["HasVersion", "dump_document", "load_document", "save_with_retries"]


class HasVersion(Protocol):
    @property
    def version(self) -> int: ...


def save_with_retries[R: HasVersion, T](
    read: Callable[[], R],
    change: Callable[[R], T | None],
    *,
    attempts: int,
    expected_version: int | None,
    stale: Callable[[int], PreconditionFailed],
    gave_up: str,
) -> T:
    """Read the document, check the version the caller named (``stale(expected)`` when it is
    no longer current), and ``change`` it: a conditional put, None when the put lost a race.
    A caller that named the version it read cannot be retried on its behalf (the document it
    based its change on is gone), so a lost race is ``stale`` too; otherwise the document is
    read again. Conflict (409) after ``attempts`` lost races in a row."""
    for _ in range(attempts):
        current = read()
        if expected_version is not None and current.version != expected_version:
            raise stale(expected_version)
        result = change(current)
        if result is not None:
            return result
        if expected_version is not None:
            raise stale(expected_version)
    raise Conflict(gave_up)


def load_document(text: Any, what: str) -> dict[str, Any]:
    """A stored JSON-object attribute (absent: empty). ConfigurationError when it is not one:
    only a hand edit of the table can cause that, and the operator must hear of it."""
    if text is None or text == "":
        return {}
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ConfigurationError(f"The stored {what} cannot be read: it is not a JSON object.")
    return document


def dump_document(document: dict[str, Any], *, max_chars: int, what: str) -> str:
    """Canonical JSON for storing (sorted keys, no spaces, no NaN); ValidationFailed (422)
    when it is larger than ``max_chars``, far below DynamoDB's 400 KB item limit."""
    text = json.dumps(document, separators=(",", ":"), sort_keys=True, allow_nan=False)
    if len(text) > max_chars:
        raise ValidationFailed(f"The {what} is larger than {max_chars} characters.")
    return text
