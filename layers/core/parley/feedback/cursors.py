"""Page cursors over several day partitions: the key of a page's last record, refused unless it
is one of the partitions being read (the caller's org, the requested days)."""

from __future__ import annotations

from typing import Any

from parley.state.paging import decode_cursor, encode_cursor

__all__ = ["day_cursor_start", "record_cursor"]


def record_cursor(record: dict[str, Any]) -> str | None:
    """A cursor after ``record``: the next page starts right behind it."""
    return encode_cursor({"pk": {"S": record["pk"]}, "sk": {"S": record["sk"]}})


def day_cursor_start(cursor: str | None, partitions: list[str]) -> dict[str, Any] | None:
    """The cursor's start key, when its partition is one of ``partitions``."""
    return decode_cursor(cursor, attributes=("pk", "sk"), partition=("pk", partitions))
