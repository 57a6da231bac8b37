"""The numbers Parley takes from a client: finite, and bounded where every part of the way
can hold them.

A number a client sends may travel far: into DynamoDB (38 significant digits, magnitudes below
1e126), into a JavaScript client reading it back (integers exact up to 2**53 - 1), into a
ledger's arithmetic. Fields bound themselves to what they mean (a rating 1-5, a spend cap in
dollars); a field with no natural bound uses these types, which every later stage can hold.
The item encoder (``parley.state.items``) refuses whatever gets past anyway.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = ["MAX_NUMBER", "MAX_SAFE_INTEGER", "MIN_MAGNITUDE", "SafeFloat", "SafeInt"]

# The largest integer every JSON reader (JavaScript's doubles among them) holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1
# The largest magnitude of a fractional number: well inside what a double holds exactly to
# a few decimals, and what DynamoDB stores.
MAX_NUMBER = 1e15

# The smallest magnitude of a number other than 0: far above DynamoDB's floor (1e-130) and
# below any quantity a client means.
MIN_MAGNITUDE = 1e-100


def _not_too_close_to_zero(value: float) -> float:
    if value and abs(value) < MIN_MAGNITUDE:
        raise ValueError(f"a number other than 0 must be at least {MIN_MAGNITUDE:g} in size")
    return value


SafeInt = Annotated[int, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
SafeFloat = Annotated[
    float,
    Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False),
    AfterValidator(_not_too_close_to_zero),
]
