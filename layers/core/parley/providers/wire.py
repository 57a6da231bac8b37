"""Reading a provider's stream defensively: each piece checked for the JSON type its API
documents, so that a provider sending something else is a malformed stream (``MalformedStream``,
the provider's failure, which failover handles), while a mistake in Parley's own code stays a
bug (a TypeError, an AttributeError: logged, a 500, never blamed on the provider)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "MalformedStream",
    "a_count",
    "a_list",
    "an_object",
    "optional_text",
    "required_text",
]


class MalformedStream(Exception):
    """A chunk or event that is not what the provider's API documents."""


def an_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedStream(f"{what} is not a JSON object")
    return value


def a_list(value: Any, what: str) -> list[Any]:
    """``value`` as a list; an absent (None) one is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedStream(f"{what} is not a JSON array")
    return value


def optional_text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise MalformedStream(f"{what} is not a string")


def required_text(value: Any, what: str) -> str:
    """A string that must be there and not be empty (a tool call's id or name)."""
    text = optional_text(value, what)
    if not text:
        raise MalformedStream(f"{what} is missing")
    return text


def a_count(value: Any, what: str) -> int:
    """A token count: a non-negative integer; an absent (None) one is 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedStream(f"{what} is not a count")
    return value
