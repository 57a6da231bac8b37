"""Opaque page cursors: a Query's LastEvaluatedKey, bound to the partition it came from."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from parley.errors import BadRequest

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, partition: tuple[str, str]) -> dict[str, Any] | None:
    """The start key for the next page. ``partition`` is the (attribute, value) the Query is
    fixed to; a cursor from any other partition (another user's list) is refused."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The page cursor is not valid.") from exc
    attribute, value = partition
    if not isinstance(key, dict) or key.get(attribute) != {"S": value}:
        raise BadRequest("The page cursor is not valid.")
    return key
