"""Plain Python values to DynamoDB attribute values and back.

boto3's serializer refuses floats (DynamoDB numbers are decimals) and its deserializer returns
``Decimal``; these helpers make both directions speak ints and floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

__all__ = ["from_item", "to_item"]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(_to_decimal(value)) for key, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_decimal(_deserializer.deserialize(value)) for key, value in item.items()}


def _to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _to_decimal(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_to_decimal(inner) for inner in value]
    return value


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
