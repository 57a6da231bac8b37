"""The UTC hours provider health speaks of (``yyyy-mm-ddTHH``): the one a run reports, its
baseline a week earlier, and an hour an operator names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parley.errors import ValidationFailed

__all__ = ["BASELINE_DAYS", "checked_hour", "hour_start", "reported_hour", "week_before"]

BASELINE_DAYS = 7  # the same hour a week earlier: the same weekday's traffic
_FORMAT = "%Y-%m-%dT%H"


def reported_hour(as_of: float) -> str:
    """The last complete hour before ``as_of``'s."""
    moment = datetime.fromtimestamp(as_of, tz=UTC).replace(minute=0, second=0, microsecond=0)
    return (moment - timedelta(hours=1)).strftime(_FORMAT)


def week_before(hour: str) -> str:
    return (_parsed(hour) - timedelta(days=BASELINE_DAYS)).strftime(_FORMAT)


def hour_start(hour: str) -> float:
    return _parsed(hour).timestamp()


def checked_hour(text: str) -> str:
    """``text`` when it is an hour; ValidationFailed (422) when not."""
    try:
        return _parsed(text).strftime(_FORMAT)
    except ValueError:
        raise ValidationFailed(f"{text!r} is not a UTC hour (yyyy-mm-ddTHH).") from None


def _parsed(hour: str) -> datetime:
    return datetime.strptime(hour, _FORMAT).replace(tzinfo=UTC)
