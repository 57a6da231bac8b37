"""Strong ETags made from a document's version, and the ``If-Match`` header that names one.

Versioned documents (org settings, user preferences) send their version as ``ETag: "<n>"``; a
client echoes it in ``If-Match`` to make a write conditional (412 when stale). The document
always exists as far as a client can tell (never saved: the defaults, version 0), so ``*`` and
no header both mean "whatever is current".
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header

from parley.errors import BadRequest, PreconditionFailed

__all__ = ["IfMatch", "etag", "expected_version"]

_ETAG = re.compile(r'^"(\d{1,18})"$')

# The ``If-Match`` parameter of a handler that writes a versioned document.
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag from a GET, e.g. `"3"`; 412 when the document changed since. '
        "`*` or no header: apply to whatever is current.",
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, *, read_from: str) -> int | None:
    """The version ``If-Match`` names; None for no header or ``*``. ``read_from`` is where a
    client gets a current ETag (named in the 412's message)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tags = [tag.strip() for tag in if_match.split(",") if tag.strip()]
    if len(tags) != 1:
        raise BadRequest('If-Match takes one ETag, e.g. "3", or *.')
    match = _ETAG.fullmatch(tags[0])
    if match is None:
        # A weak or malformed tag cannot match a strong ETag (If-Match compares strongly).
        raise PreconditionFailed(
            f"If-Match {tags[0]} does not match; send the ETag from GET {read_from}."
        )
    return int(match.group(1))
