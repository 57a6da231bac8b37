"""What every JSON request body must be before any route sees it: standard JSON in UTF-8,
whose text is valid Unicode.

Python's ``json`` is more lenient than the standard, and each leniency became a failure far
from the request: ``NaN`` and ``Infinity`` reached DynamoDB, and a lone surrogate (the escape
``"\\ud800"``, or the UTF-8 bytes of one, which ``json.loads`` decodes with
``surrogatepass``) reached the provider SDKs, which cannot encode it, so a user's typo counted
against a model's health for every org. Checking the body once, where it enters, keeps all of
it out of every route, field and store at once, including fields typed ``Any``.

The check is cheap for the usual body: a strict UTF-8 decode and two substring searches.
Only a body holding a ``\\u`` escape, or the letters of ``NaN``/``Infinity``, is parsed here to
find out (the route parses it again as usual).
"""

from __future__ import annotations

import json
from typing import Any

from parley.errors import ValidationFailed
from parley.text import is_valid_text, repair_text

__all__ = ["check_json_body", "is_json_media_type"]

_CONSTANTS = ("NaN", "Infinity")


class _NonStandardConstant(Exception):
    """Raised out of ``json.loads`` by ``parse_constant``: the body holds NaN or Infinity."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` and ``application/<anything>+json`` (a merge patch), as FastAPI
    decides whether to parse a body as JSON."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def check_json_body(body: bytes) -> None:
    """Raise ValidationFailed (422) when ``body`` is not UTF-8, holds ``NaN``/``Infinity``, a
    number too long to read, nesting too deep to read, or text that is not valid Unicode.
    A body that is not JSON at all is left to the route's own parser and its 422."""
    try:
        text = body.decode("utf-8")  # strict: the UTF-8 bytes of a surrogate are refused too
    except UnicodeDecodeError as exc:
        raise _refused([], "the body is not UTF-8 text", "utf8_invalid") from exc
    if "\\u" not in text and not any(constant in text for constant in _CONSTANTS):
        return
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _NonStandardConstant as exc:
        raise _refused(
            [], f"{exc.name} is not a JSON number: numbers must be finite", "number_not_finite"
        ) from exc
    except json.JSONDecodeError:
        return  # not JSON: the route answers that, with where it broke
    except RecursionError as exc:
        raise _refused([], "the JSON is nested too deeply", "json_too_deep") from exc
    except ValueError as exc:  # an integer longer than Python reads (4300 digits)
        raise _refused([], "a number has too many digits", "number_too_long") from exc
    where = _first_invalid_text(value)
    if where is not None:
        raise _refused(
            where,
            "text that is not valid Unicode (a lone surrogate); send text as UTF-8",
            "string_unicode",
        )


def _refuse_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


def _first_invalid_text(value: Any) -> list[str | int] | None:
    """Where the first string (or object key) that is not valid text is, as a location."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not is_valid_text(item):
                return where
        elif isinstance(item, dict):
            for key, inner in reversed(item.items()):
                if not is_valid_text(key):
                    return [*where, repair_text(key)]
                stack.append((inner, [*where, key]))
        elif isinstance(item, list):
            stack.extend(
                (inner, [*where, index]) for index, inner in reversed(list(enumerate(item)))
            )
    return None


def _refused(where: list[str | int], message: str, kind: str) -> ValidationFailed:
    location = ["body", *where]
    return ValidationFailed(
        f"{'.'.join(str(part) for part in location)}: {message}",
        details=[{"loc": location, "msg": message, "type": kind}],
    )
