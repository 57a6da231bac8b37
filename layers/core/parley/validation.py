"""A pydantic ``ValidationError`` as Parley reports it: each problem's location, message and
type (never its ``input``, which may be large or private, nor its ``ctx``, which may hold
objects that do not serialise), and the first one as the error's one-line message.

Every 422 of every route says its problems this way: a request body FastAPI refused, a
settings document, a preferences document, a job's event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.errors import ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Problem", "problems", "summary", "validation_failed"]

Problem = dict[str, Any]  # {"loc": [...], "msg": str, "type": str}


def problems(
    errors: Iterable[Mapping[str, Any]], prefix: tuple[str | int, ...] = ()
) -> list[Problem]:
    """``errors`` (``ValidationError.errors()``, or FastAPI's ``RequestValidationError``'s) as
    location, message and type, each location under ``prefix``."""
    return [
        {
            "loc": [*prefix, *error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in errors
    ]


def summary(found: list[Problem], *, where_empty: str = "") -> str:
    """The first problem in one line: ``where: what``."""
    if not found:
        return "The request is not valid."
    first = found[0]
    where = ".".join(str(part) for part in first["loc"]) or where_empty
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def validation_failed(
    errors: Iterable[Mapping[str, Any]], prefix: tuple[str | int, ...] = ()
) -> ValidationFailed:
    """The 422 for ``errors``: every problem in ``details``, the first in the message."""
    found = problems(errors, prefix)
    return ValidationFailed(summary(found), details=found)
