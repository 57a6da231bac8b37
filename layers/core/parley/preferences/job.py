"""The hourly learning job: recent choices in, learned preferences out (docs/operations.md).

For each user active in the last ``active_days`` UTC days (today included) it reads their last
``message_limit`` user messages of the last ``history_days`` days (``parley.preferences.history``),
estimates what their choices say (``parley.preferences.learning``) and hands the confident
values to ``PreferencesRepository.learn``, which never overwrites a value the user set. A
value learned earlier whose field's recent messages no longer support it (confidence at or
below the floor) is removed; one whose field has no recent messages at all is kept.

The counts of a run, with ``processed == updated + skipped``:

* ``processed``: users looked at by this invocation (each user once per run);
* ``updated``: users whose learned preferences changed (``learn`` wrote their item);
* ``skipped``: the rest: nothing confident enough, only fields the user set explicitly,
  nothing different from what is stored, or a run already applied to them.

Every date the run uses comes from ``as_of`` (the scheduled time), so an invocation that
continues a run from its cursor walks the same days. The deadline is checked before each user
after the first: every invocation makes progress, and one that stops returns the cursor of the
next user (``complete`` false).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from parley.clock import iso_from_epoch
from parley.errors import ConfigurationError
from parley.orgs.repository import OrgSettingsRepository
from parley.panels import PanelRegistry
from parley.preferences.history import ActiveUser, ActiveUsers, Position, UserHistory
from parley.preferences.learning import ChoiceRecord, Estimate, estimate_fields
from parley.preferences.repository import (
    LearnedValue,
    PreferencesRepository,
    StoredPreferences,
    explicit_value,
)
from parley.state.conversation_keys import ACTIVITY_SHARDS
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["JobResult", "LearnPreferencesJob"]

ACTIVE_DAYS = 7
HISTORY_DAYS = 30
MESSAGE_LIMIT = 100


class JobResult(TypedDict):
    processed: int
    updated: int
    skipped: int
    duration_ms: int
    complete: bool
    cursor: str | None  # where the next invocation continues; None when complete


class LearnPreferencesJob:
    def __init__(
        self,
        conversations_table: str,
        accounts_table: str,
        *,
        client: DynamoDBClient,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.monotonic,
        active_days: int = ACTIVE_DAYS,
        history_days: int = HISTORY_DAYS,
        message_limit: int = MESSAGE_LIMIT,
        page_size: int = 100,
    ) -> None:
        self._users = ActiveUsers(conversations_table, client=client, page_size=page_size)
        self._history = UserHistory(conversations_table, client=client, page_size=page_size)
        self._preferences = PreferencesRepository(accounts_table, client=client, clock=clock)
        self._org_settings = OrgSettingsRepository(accounts_table, client=client, clock=clock)
        self._clock = clock
        self._timer = timer  # the clock of `deadline`
        self._active_days = active_days
        self._history_days = history_days
        self._limit = message_limit

    def run(
        self,
        *,
        run_id: str,
        deadline: float | None,
        as_of: float | None = None,
        shards: Sequence[int] | None = None,
        cursor: str | None = None,
    ) -> JobResult:
        """One invocation of the run ``run_id``: from ``cursor`` (or the start) until the
        work is done or ``deadline`` (a ``timer`` reading) passes. ``shards`` limits it to
        some shards of the activity index (default: all)."""
        started = time.perf_counter()
        reference = self._clock() if as_of is None else as_of
        chosen = sorted(set(range(ACTIVITY_SHARDS) if shards is None else shards))
        days = _days(reference, self._active_days)
        start = Position.decode(cursor, shards=chosen, days=days) if cursor else None
        since_ms = int((reference - self._history_days * 86_400) * 1000)
        panels: dict[str, PanelRegistry] = {}
        processed = updated = 0
        stopped_at: Position | None = None
        for user, position in self._users.walk(days=days, shards=chosen, start=start):
            if processed and deadline is not None and self._timer() >= deadline:
                break
            processed += 1
            if self._learn(user, since_ms, run_id, panels):
                updated += 1
            stopped_at = position
        else:
            stopped_at = None
        return {
            "processed": processed,
            "updated": updated,
            "skipped": processed - updated,
            "duration_ms": round((time.perf_counter() - started) * 1000),
            "complete": stopped_at is None,
            "cursor": None if stopped_at is None else stopped_at.encode(),
        }

    def _learn(
        self, user: ActiveUser, since_ms: int, run_id: str, panels: dict[str, PanelRegistry]
    ) -> bool:
        turns = self._history.recent_turns(user, since_ms=since_ms, limit=self._limit)
        records = [record for turn in turns if (record := turn.choice_record()) is not None]
        if not records:
            return False
        registry = panels.get(user.org_id)
        if registry is None:
            registry = panels[user.org_id] = self._panels(user.org_id)
        fields = estimate_fields(records, options=_option_counts(registry, records))
        if not fields:
            return False
        estimates = {
            path: Estimate(found.value, found.confidence, found.messages, found.support)
            for path, found in fields.items()
            if found.learned
        }
        stored = self._preferences.get(user.org_id, user.user_id)
        learned = _new_values(stored, estimates, iso_from_epoch(self._clock()))
        # Seen again, and no longer confident: the evidence does not support it any more.
        forget = [path for path in stored.learned if path in fields and path not in estimates]
        if not learned and not forget:
            return False  # nothing the item does not already say: no write
        return self._preferences.learn(
            user.org_id,
            user.user_id,
            learned,
            run_id=run_id,
            panels=registry,
            read=stored,
            forget=forget,
        )

    def _panels(self, org_id: str) -> PanelRegistry:
        try:
            return PanelRegistry.for_org(self._org_settings.get(org_id).settings)
        except ConfigurationError:
            # A broken org document must not stop the job: built-in panels still validate.
            logger.warning("Learning with built-in panels: org settings invalid", org_id=org_id)
            return PanelRegistry.builtin()


def _option_counts(registry: PanelRegistry, records: Sequence[ChoiceRecord]) -> dict[str, int]:
    """The number of options each chosen field declares, by path: the Dirichlet prior's size.
    Fields without a set of options (a number, free text) and list fields (whose options are
    the elements, not the lists a user may choose) are left out: the options seen count."""
    counts: dict[str, int] = {}
    for record in records:
        for name in record.choices:
            path = f"{record.panel}.{name}"
            if path in counts:
                continue
            described = registry.descriptions.get(record.panel, {}).get("fields", {}).get(name)
            if described and described.get("type") != "string_list" and described.get("options"):
                counts[path] = len(described["options"])
    return counts


def _new_values(
    stored: StoredPreferences, estimates: Mapping[str, Estimate], now: str
) -> dict[str, LearnedValue]:
    """The estimates that would change the item: not set explicitly, and not already stored
    with the same value, confidence, messages and support (whose ``learned_at`` is then
    kept)."""
    learned: dict[str, LearnedValue] = {}
    for path, estimate in estimates.items():
        if explicit_value(stored.explicit, path) is not None:
            continue
        value = LearnedValue(
            estimate.value,
            estimate.confidence,
            estimate.messages,
            now,
            messages=estimate.messages,
            support=dict(estimate.support),
        )
        current = stored.learned.get(path)
        if current is not None and _same(current, value):
            continue
        learned[path] = value
    return learned


def _same(current: LearnedValue, new: LearnedValue) -> bool:
    return (current.value, current.confidence, current.samples, current.messages) == (
        new.value,
        new.confidence,
        new.samples,
        new.messages,
    ) and current.support == new.support


def _days(reference: float, count: int) -> list[str]:
    """The UTC days ``yyyy-mm-dd`` of the last ``count`` days, newest (``reference``'s) first."""
    today = datetime.fromtimestamp(reference, tz=UTC).date()
    return [(today - timedelta(days=back)).isoformat() for back in range(count)]
