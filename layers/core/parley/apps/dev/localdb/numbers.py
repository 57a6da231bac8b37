"""DynamoDB's rules for numbers, which moto does not apply: moto stores ``1e300``, 40-digit
integers and ``1e-131``, all of which DynamoDB refuses with a ValidationException. A local
DynamoDB that took them would let a value pass every test and ``parley dev`` that production
cannot store, so the patched moto refuses them as DynamoDB does, with DynamoDB's messages.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["number_problem", "request_numbers"]

_EXACT = Context(prec=100_000)  # normalize() rounds to the context's precision
_MAX_DIGITS = 38
_MAX_ADJUSTED_EXPONENT = 125  # below 1e126
_MIN_ADJUSTED_EXPONENT = -130  # from 1e-130
# DynamoDB's own messages.
_NOT_A_NUMBER = "A value provided cannot be converted into a number"
_PRECISION = "Attempting to store more than 38 significant digits in a Number"
_OVERFLOW = (
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
)
_UNDERFLOW = (
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
)


def number_problem(text: str) -> str | None:
    """DynamoDB's refusal of the number ``text`` (an ``N`` value), or None when it stores it."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return _NOT_A_NUMBER
    if not number.is_finite():
        return _NOT_A_NUMBER
    if number.is_zero():
        return None
    limits = (
        (len(_EXACT.normalize(number).as_tuple().digits) > _MAX_DIGITS, _PRECISION),
        (number.adjusted() > _MAX_ADJUSTED_EXPONENT, _OVERFLOW),
        (number.adjusted() < _MIN_ADJUSTED_EXPONENT, _UNDERFLOW),
    )
    return next((problem for broken, problem in limits if broken), None)


def request_numbers(value: Any) -> Iterator[str]:
    """Every number (``N`` and the members of ``NS``) in a request's attribute values."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "N" and isinstance(item, str):
                yield item
            elif key == "NS" and isinstance(item, list):
                yield from (number for number in item if isinstance(number, str))
            else:
                yield from request_numbers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from request_numbers(item)
