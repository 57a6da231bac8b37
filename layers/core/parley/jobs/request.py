"""What one invocation of a scheduled job is asked to do, read from its event.

The template's schedules send ``{"job": NAME, "scheduled_time": "<aws.scheduler.scheduled-time>"}``
(EventBridge Scheduler replaces the placeholder with the time the schedule fired, e.g.
``2026-12-01T08:05:00Z``); a schedule that fans out adds ``"shards": [...]``, and a continuation
(``parley.jobs.runner``) adds the ``"cursor"`` where the previous invocation stopped. The hour of
``scheduled_time`` names the run: every delivery of one schedule for one hour is the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley.errors import ValidationFailed
from parley.state.conversation_keys import ACTIVITY_SHARDS
from parley.validation import problems, summary

__all__ = ["JobRequest", "parse_hour"]

Shard = Annotated[int, Field(ge=0, lt=ACTIVITY_SHARDS)]


class _Event(BaseModel):
    # Other keys (an operator's notes, a console test event's) are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    job: str | None = None
    scheduled_time: datetime | None = None
    shards: Annotated[list[Shard], Field(min_length=1)] | None = None
    cursor: str | None = None


@dataclass(frozen=True)
class JobRequest:
    job: str
    scheduled_time: datetime  # UTC
    shards: tuple[int, ...] | None = None
    cursor: str | None = None

    @property
    def hour(self) -> str:
        """``yyyy-mm-ddThh`` (UTC): the run this invocation belongs to."""
        return self.scheduled_time.strftime("%Y-%m-%dT%H")

    @property
    def run_id(self) -> str:
        return f"{self.job}#{self.hour}"

    def identity(self) -> dict[str, Any]:
        """What makes two invocations the same (Powertools hashes it into the idempotency
        key): the job, the hour, the shards and the cursor; not the second it fired."""
        shards = None if self.shards is None else list(self.shards)
        return {"job": self.job, "hour": self.hour, "shards": shards, "cursor": self.cursor}

    def event(self, *, cursor: str | None) -> dict[str, Any]:
        """The event of this run's next invocation, continuing from ``cursor``."""
        event: dict[str, Any] = {
            "job": self.job,
            "scheduled_time": self.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cursor": cursor,
        }
        if self.shards is not None:
            event["shards"] = list(self.shards)
        return event

    @classmethod
    def from_event(cls, event: Any, *, job: str, now: float) -> JobRequest:
        """The request in ``event`` for ``job``; an event without ``scheduled_time`` (a
        manual invocation) runs for the hour of ``now``. ValidationFailed when the event is
        not one, names another job, or an hour that has not begun."""
        try:
            parsed = _Event.model_validate(event if event is not None else {})
        except ValidationError as exc:
            first = summary(problems(exc.errors()), where_empty="event")
            raise ValidationFailed(f"Not a {job} event: {first}.") from exc
        if parsed.job is not None and parsed.job != job:
            raise ValidationFailed(f"This function runs {job}, not {parsed.job}.")
        moment = parsed.scheduled_time or datetime.fromtimestamp(now, tz=UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        hour_start = moment.replace(minute=0, second=0, microsecond=0)
        if hour_start.timestamp() > now:
            # A run for an hour to come would take that hour's idempotency key: when the hour
            # came, its scheduled run would replay this early result and learn nothing new.
            raise ValidationFailed(
                f"Cannot run {job} for {hour_start:%Y-%m-%dT%H}: that hour has not begun."
            )
        shards = None if parsed.shards is None else tuple(sorted(set(parsed.shards)))
        return cls(job, moment.astimezone(UTC), shards, parsed.cursor or None)


def parse_hour(text: str) -> datetime:
    """``2026-12-01T08`` (or any ISO time) as a UTC datetime, for ``--hour``."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValidationFailed(f"--hour takes yyyy-mm-ddThh (UTC), not {text!r}.") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
