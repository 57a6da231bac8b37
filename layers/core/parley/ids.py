"""Identifiers that sort by creation time (ULID layout: 48-bit ms timestamp, 80 random bits,
Crockford base32), so a sort key made from an id lists items in the order they were made.

Ids made by one process are strictly increasing, even within one millisecond (the random part
is incremented, as in monotonic ULIDs): a question and its answer created in the same
millisecond must still sort question first.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["ID_PATTERN", "id_floor", "id_timestamp_ms", "new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# What a client may send where an id belongs: 26 characters of the alphabet (no I, L, O, U).
ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_DECODE = {char: index for index, char in enumerate(_ALPHABET)}
_LENGTH = 26
_RANDOM_BITS = 80

_MAX_RANDOM = (1 << _RANDOM_BITS) - 1

_lock = threading.Lock()
_last_ms = 0
_last_random = 0


def new_id(now_ms: int | None = None) -> str:
    """A new id; ``now_ms`` fixes the timestamp (and skips the monotonic sequence)."""
    if now_ms is not None:
        return _encode(now_ms, _fresh_random())
    global _last_ms, _last_random
    now = int(time.time() * 1000)
    with _lock:
        if now > _last_ms:
            timestamp, random = now, _fresh_random()
        elif _last_random < _MAX_RANDOM:  # same millisecond (or the clock stepped back)
            timestamp, random = _last_ms, _last_random + 1
        else:
            timestamp, random = _last_ms + 1, _fresh_random()
        _last_ms, _last_random = timestamp, random
    return _encode(timestamp, random)


def id_timestamp_ms(identifier: str) -> int:
    """The creation time, in epoch milliseconds, encoded in an id made by ``new_id``."""
    if len(identifier) != _LENGTH or any(char not in _DECODE for char in identifier):
        raise ValueError(f"not a Parley id: {identifier!r}")
    value = 0
    for char in identifier:
        value = (value << 5) | _DECODE[char]
    return value >> _RANDOM_BITS


def id_floor(ms: int) -> str:
    """The lowest id of millisecond ``ms``: every id made at ``ms`` or later sorts at or
    above it, so ``sk >= MSG#<id_floor(t)>`` selects the messages made since ``t``."""
    return _encode(ms, 0)


def _fresh_random() -> int:
    # The top bit clear leaves room to count up within the millisecond.
    return int.from_bytes(os.urandom(10), "big") >> 1


def _encode(timestamp: int, random: int) -> str:
    value = (timestamp << _RANDOM_BITS) | random
    chars = []
    for _ in range(_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
