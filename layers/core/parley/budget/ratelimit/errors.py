"""The 429 a refused request gets: which limit, and when to retry."""

from __future__ import annotations

import math

from parley.errors import RateLimited

__all__ = ["RateLimitExceeded"]

_WINDOW_NAMES = {1: "a second", 60: "a minute", 3600: "an hour", 86_400: "a day"}
_SCOPE_NAMES = {"org": "organisation"}


class RateLimitExceeded(RateLimited):
    """A rate limit has no room left. Nothing was counted for the refused request, so a retry
    after ``retry_after`` seconds passes unless other requests take the room first."""

    def __init__(
        self,
        *,
        scope: str | None,
        limit: int | None,
        window_seconds: float | None,
        retry_after: float,
    ) -> None:
        # Whole seconds, never zero: the same figure as the Retry-After header.
        wait = f"retry in {max(1, math.ceil(retry_after))} s."
        if scope is None or limit is None or window_seconds is None:
            message = f"Too many requests; {wait}"
        else:
            requests = "1 request" if limit == 1 else f"{limit} requests"
            per = _SCOPE_NAMES.get(scope, scope)
            message = (
                f"Too many requests: at most {requests} {_per(window_seconds)} per {per}; {wait}"
            )
        super().__init__(
            message,
            retry_after=retry_after,
            details={"scope": scope, "limit": limit, "window_seconds": window_seconds},
        )
        self.scope = scope


def _per(window_seconds: float) -> str:
    if window_seconds in _WINDOW_NAMES:
        return _WINDOW_NAMES[int(window_seconds)]
    return f"every {window_seconds:g} seconds"
