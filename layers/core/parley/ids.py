"""Identifiers that sort by creation time (ULID layout: 48-bit ms timestamp, 80 random bits,
Crockford base32), so a sort key made from an id lists items in the order they were made."""

from __future__ import annotations

import os
import time

__all__ = ["id_timestamp_ms", "new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {char: index for index, char in enumerate(_ALPHABET)}
_LENGTH = 26


def new_id(now_ms: int | None = None) -> str:
    timestamp = int(time.time() * 1000) if now_ms is None else now_ms
    value = (timestamp << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def id_timestamp_ms(identifier: str) -> int:
    """The creation time, in epoch milliseconds, encoded in an id made by ``new_id``."""
    if len(identifier) != _LENGTH or any(char not in _DECODE for char in identifier):
        raise ValueError(f"not a Parley id: {identifier!r}")
    value = 0
    for char in identifier:
        value = (value << 5) | _DECODE[char]
    return value >> 80
