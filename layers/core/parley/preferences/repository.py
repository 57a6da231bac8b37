"""Each user's preferences: one item in ``AccountsTable``, ``pk=USER#<org>#<user>``,
``sk=PREFERENCES``, kept as a versioned document (``parley.state.versioned``).

The item holds two documents, as JSON strings for the reasons ``parley.orgs.repository`` gives:

- ``explicit``: only what the user set (``preferences`` by panel, ``tier``, ``favorite_panels``);
  validated with the org's panels (``parley.preferences.panels``) on every write;
- ``learned``: what the learning job inferred, ``"panel.field" -> {value, confidence, samples,
  learned_at, messages, support}`` (``messages`` and ``support`` since issue 14; older
  entries without them still read).

Every write, the learning job's included, is conditional on the version read and increments it;
the version is the API's ETag. A user's explicit value always wins: learning never writes a field
the user set, and the effective value of a field is the explicit one, else the learned one, else
the org's default, else the product's (``parley.preferences.effective``). ``learned_runs`` keeps
the ids of the last learning runs applied, so a job that EventBridge delivers twice writes once.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from parley.clock import iso_from_epoch
from parley.errors import Forbidden, PreconditionFailed, ValidationFailed
from parley.merge_patch import deep_merge
from parley.panels import DEFAULT_TIER, PanelRegistry, split_path
from parley.preferences.stored import LearnedValue, StoredPreferences, explicit_value
from parley.state.versioned import (
    VersionedItems,
    VersionedTable,
    dump_document,
    load_document,
    save_with_retries,
)
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "MAX_EXPLICIT_CHARS",
    "MAX_LEARNED_CHARS",
    "LearnedValue",
    "PreferencesRepository",
    "StoredPreferences",
    "explicit_value",
]

MAX_EXPLICIT_CHARS = 16_384
MAX_LEARNED_CHARS = 32_768
# Enough to recognise a redelivered run for days of hourly runs.
_KEPT_RUNS = 48
_SK = "PREFERENCES"
_TOP_LEVEL = ("preferences", "tier", "favorite_panels")


class PreferencesRepository:
    """Reads (consistent: one GetItem in DynamoDB) and conditional writes of a user's
    preferences item, on any ``VersionedItems``."""

    def __init__(
        self,
        table: str | VersionedItems,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        attempts: int = 5,
    ) -> None:
        # A table's name is that DynamoDB table (through ``client``); else the items to use.
        self._items = VersionedTable(table, client=client) if isinstance(table, str) else table
        self._clock = clock
        self._attempts = attempts

    def get(self, org_id: str, user_id: str) -> StoredPreferences:
        stored = self._items.read(_key(org_id, user_id))
        values = stored.attributes
        what = f"preferences of user {user_id} in org {org_id}"
        learned: dict[str, LearnedValue] = {}
        for path, data in load_document(values.get("learned"), what).items():
            value = LearnedValue.from_json(data)
            if value is not None:
                learned[path] = value
        return StoredPreferences(
            org_id=org_id,
            user_id=user_id,
            explicit=load_document(values.get("explicit"), what),
            learned=learned,
            version=stored.version,
            updated_at=values.get("updated_at"),
            learned_runs=tuple(values.get("learned_runs") or ()),
        )

    def update(
        self,
        org_id: str,
        user_id: str,
        patch: Any,
        *,
        expected_version: int | None,
        panels: PanelRegistry | None = None,
        may_change_tier: bool = False,
    ) -> StoredPreferences:
        """Lay ``patch`` (a JSON merge patch in the document's shape: ``null`` removes a
        field) over the user's explicit document, validate it and save it as the next version.
        PreconditionFailed (412) when ``expected_version`` is not current; ValidationFailed
        (422) when the result is not valid; Forbidden (403) when it changes the tier and
        ``may_change_tier`` is false."""
        registry = panels or PanelRegistry.builtin()
        _check_patch(patch)

        def change(current: StoredPreferences) -> StoredPreferences | None:
            # Values an org's panels no longer accept are dropped rather than blocking the user.
            merged = deep_merge(registry.prune(current.explicit), patch)
            explicit = registry.validate_document(merged)
            if not may_change_tier and _tier(explicit) != _tier(current.explicit):
                raise Forbidden("Changing the tier needs the users:manage scope.")
            return self._write(current, explicit=explicit, learned=current.learned)

        return save_with_retries(
            lambda: self.get(org_id, user_id),
            change,
            attempts=self._attempts,
            expected_version=expected_version,
            stale=_stale,
            gave_up="The preferences kept changing while being saved; read them and try again.",
        )

    def reset(
        self,
        org_id: str,
        user_id: str,
        *,
        expected_version: int | None,
        panels: Collection[str] | None = None,
    ) -> StoredPreferences:
        """Clear what the user set and what was learned, for every panel or only ``panels``.
        The tier stays: it is an entitlement an administrator grants, not a preference. The
        item is kept and its version goes on increasing, so an old ETag never matches again;
        a user with nothing stored is left as they are."""
        chosen = None if panels is None else set(panels)

        def change(current: StoredPreferences) -> StoredPreferences | None:
            if current.version == 0:
                return current
            explicit, learned = _without(current, chosen)
            return self._write(current, explicit=explicit, learned=learned)

        return save_with_retries(
            lambda: self.get(org_id, user_id),
            change,
            attempts=self._attempts,
            expected_version=expected_version,
            stale=_stale,
            gave_up="The preferences kept changing while being reset; read them and try again.",
        )

    def learn(
        self,
        org_id: str,
        user_id: str,
        learned: Mapping[str, LearnedValue],
        *,
        run_id: str,
        panels: PanelRegistry | None = None,
        read: StoredPreferences | None = None,
        forget: Collection[str] = (),
    ) -> bool:
        """Lay ``learned`` over the stored learned values and remove those of the paths in
        ``forget`` (what the evidence no longer supports); other fields are kept. Fields the
        user set explicitly are never written, nor values that do not validate for their
        panel (logged); what the user set is never removed (``forget`` touches learned values
        only). A run already applied (``run_id``) changes nothing. True when the item
        changed. ``read``: the item as the caller has just read it, which the first
        attempt starts from (its write is still conditional on that version; a lost race
        reads the item again)."""
        registry = panels or PanelRegistry.builtin()
        first_read = [read] if read is not None else []

        def read_current() -> StoredPreferences:
            return first_read.pop() if first_read else self.get(org_id, user_id)

        def change(current: StoredPreferences) -> bool | None:
            if run_id in current.learned_runs:
                return False
            merged = {path: value for path, value in current.learned.items() if path not in forget}
            for path, value in learned.items():
                accepted = _acceptable(registry, current.explicit, path, value)
                if accepted is not None:
                    merged[path] = accepted
            if merged == current.learned:
                return False
            runs = (*current.learned_runs, run_id)[-_KEPT_RUNS:]
            written = self._write(current, explicit=current.explicit, learned=merged, runs=runs)
            return None if written is None else True

        return save_with_retries(
            read_current,
            change,
            attempts=self._attempts,
            expected_version=None,
            stale=_stale,
            gave_up=f"The preferences of user {user_id} kept changing while learning.",
        )

    # Helpers -----------------------------------------------------------------------------

    def _write(
        self,
        current: StoredPreferences,
        *,
        explicit: dict[str, Any],
        learned: dict[str, LearnedValue],
        runs: tuple[str, ...] | None = None,
    ) -> StoredPreferences | None:
        """Save as ``current.version + 1`` if still at it; None when another writer won."""
        learned_runs = current.learned_runs if runs is None else runs
        updated_at = iso_from_epoch(self._clock())
        attributes: dict[str, Any] = {
            "type": "preferences",
            "org_id": current.org_id,
            "user_id": current.user_id,
            "explicit": dump_document(
                explicit, max_chars=MAX_EXPLICIT_CHARS, what="preferences document"
            ),
            "learned": dump_document(
                {path: value.to_json() for path, value in learned.items()},
                max_chars=MAX_LEARNED_CHARS,
                what="learned preferences document",
            ),
            "updated_at": updated_at,
        }
        if learned_runs:
            attributes["learned_runs"] = list(learned_runs)
        version = self._items.put(
            _key(current.org_id, current.user_id), current.version, attributes
        )
        if version is None:
            return None
        return StoredPreferences(
            org_id=current.org_id,
            user_id=current.user_id,
            explicit=explicit,
            learned=dict(learned),
            version=version,
            updated_at=updated_at,
            learned_runs=learned_runs,
        )


def _key(org_id: str, user_id: str) -> dict[str, str]:
    return {"pk": f"USER#{org_id}#{user_id}", "sk": _SK}


def _stale(expected: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"The preferences changed since version {expected} was read; read them again "
        "(GET /v1/preferences) and reapply the change."
    )


def _check_patch(patch: Any) -> None:
    if not isinstance(patch, dict):
        raise ValidationFailed("The preferences must be a JSON object.")
    unknown = [key for key in patch if key not in _TOP_LEVEL]
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]}: not a preferences field (use {', '.join(_TOP_LEVEL)})",
            details=[
                {"loc": [key], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
                for key in unknown
            ],
        )


def _tier(explicit: Mapping[str, Any]) -> str:
    tier = explicit.get("tier")
    return tier if isinstance(tier, str) else DEFAULT_TIER


def _acceptable(
    registry: PanelRegistry, explicit: Mapping[str, Any], path: str, value: LearnedValue
) -> LearnedValue | None:
    """``value`` as it may be stored at ``path``, or None (set explicitly, or not valid)."""
    if explicit_value(explicit, path) is not None:
        return None
    ok, normalised = registry.valid_value(path, value.value)
    confident = math.isfinite(value.confidence) and 0 < value.confidence <= 1
    if not ok or not confident or value.samples < 0:
        logger.warning("Skipping a learned preference that is not valid", path=path)
        return None
    return replace(value, value=normalised)


def _without(
    current: StoredPreferences, panels: set[str] | None
) -> tuple[dict[str, Any], dict[str, LearnedValue]]:
    """The documents with ``panels`` (None: everything but the tier) cleared."""
    tier = {"tier": current.explicit["tier"]} if "tier" in current.explicit else {}
    if panels is None:
        return tier, {}
    explicit = dict(current.explicit)
    kept = {
        name: values
        for name, values in (explicit.get("preferences") or {}).items()
        if name not in panels
    }
    explicit.pop("preferences", None)
    if kept:
        explicit["preferences"] = kept
    learned = {
        path: value
        for path, value in current.learned.items()
        if (split_path(path) or ("", ""))[0] not in panels
    }
    return explicit, learned
