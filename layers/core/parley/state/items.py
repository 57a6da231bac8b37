"""Plain Python values to DynamoDB attribute values and back.

boto3's serializer refuses floats (DynamoDB numbers are decimals) and its deserializer returns
``Decimal``; these helpers make both directions speak ints and floats.

Writing refuses, with a 422 that names the attribute, what DynamoDB cannot store: numbers
that are not finite or that DynamoDB's number type cannot hold (38 significant digits,
magnitudes from 1e-130 to below 1e126: boto3's own ``DYNAMODB_CONTEXT`` decides what it would
refuse on serializing, and the smallest magnitude is checked besides), and text that is not
valid Unicode. Schemas bound their fields well inside these limits; this is the one place that
guarantees no write fails on a value.
"""

from __future__ import annotations

import math
from decimal import Decimal, DecimalException
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer

from parley.errors import ValidationFailed
from parley.text import is_valid_text

__all__ = ["UnstorableValue", "from_item", "to_item"]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# DynamoDB's number type: 38 significant digits, magnitudes from 1e-130 to below 1e126.
_SMALLEST = Decimal("1e-130")
_OUT_OF_RANGE = "a number DynamoDB cannot store (38 digits, magnitude from 1e-130 to below 1e126)"


class UnstorableValue(ValidationFailed):
    """A value DynamoDB cannot store; ``details`` locate it."""


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(_storable(value, (key,))) for key, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_decimal(_deserializer.deserialize(value)) for key, value in item.items()}


def _storable(value: Any, where: tuple[str | int, ...]) -> Any:
    """``value`` as boto3 serializes it (floats as Decimal), refusing what cannot be stored."""
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or not is_valid_text(key):
                raise _unstorable(where, "a key that is not valid text")
        return {key: _storable(inner, (*where, key)) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(inner, (*where, index)) for index, inner in enumerate(value)]
    if isinstance(value, set | frozenset):
        return {_storable(inner, where) for inner in value}
    return _scalar(value, where)


def _scalar(value: Any, where: tuple[str | int, ...]) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _unstorable(where, "a number that is not finite")
        return _number(Decimal(repr(value)), where)
    if isinstance(value, int | Decimal):
        return _number(Decimal(value), where)
    if isinstance(value, str) and not is_valid_text(value):
        raise _unstorable(where, "text that is not valid Unicode")
    return value  # text, bytes and the rest: boto3's serializer takes them as they are


def _number(number: Decimal, where: tuple[str | int, ...]) -> Decimal:
    if not number.is_finite():
        raise _unstorable(where, "a number that is not finite")
    try:
        DYNAMODB_CONTEXT.create_decimal(number)
    except DecimalException as exc:
        raise _unstorable(where, _OUT_OF_RANGE) from exc
    # boto3's context takes subnormal numbers down to 1e-165, which DynamoDB refuses.
    if number and abs(number) < _SMALLEST:
        raise _unstorable(where, _OUT_OF_RANGE)
    return number


def _unstorable(where: tuple[str | int, ...], what: str) -> UnstorableValue:
    location = ".".join(str(part) for part in where)
    return UnstorableValue(
        f"{location}: {what}.",
        details=[{"loc": list(where), "msg": what, "type": "unstorable_value"}],
    )


def _from_decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_decimal(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_from_decimal(inner) for inner in value]
    if isinstance(value, set):
        return {_from_decimal(inner) for inner in value}
    return value
