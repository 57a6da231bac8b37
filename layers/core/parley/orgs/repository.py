"""Each org's settings overrides (item ``pk=ORG#<org>``, ``sk=SETTINGS`` in ``AccountsTable``).

The item holds only what the org changed, as one JSON document (``overrides``), with a
``version`` that every write increments and is conditional on: two administrators saving at
once cannot overwrite each other unseen (optimistic concurrency; the HTTP API's ETag is the
version). The effective settings are the overrides laid over ``OrgSettings()``'s defaults.

Why a JSON string rather than a DynamoDB map: the document is always read and written whole
and validated with ``OrgSettings`` both ways, so nothing is gained from addressing its parts;
a string round-trips JSON exactly (a map turns numbers into decimals and would lose whether
``1.0`` was a float), and it leaves no way to update one nested field with an expression that
skips validation.

Resetting writes an empty document with the next version instead of deleting the item: the
version is the ETag, and restarting it at 0 would let a client's old ``If-Match: "3"`` match a
different document that later reaches version 3 again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from parley.clock import iso_from_epoch
from parley.errors import ConfigurationError, PreconditionFailed, ValidationFailed
from parley.merge_patch import deep_merge
from parley.orgs.settings import OrgSettings
from parley.state.versioned import (
    VersionedItems,
    VersionedTable,
    dump_document,
    load_document,
    save_with_retries,
)
from parley.validation import problems, summary, validation_failed

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["MAX_DOCUMENT_CHARS", "OrgSettingsRepository", "StoredSettings", "effective_settings"]

# Far above any real document (the model bounds every list), far below DynamoDB's 400 KB item.
MAX_DOCUMENT_CHARS = 16_384
_SETTINGS_SK = "SETTINGS"
_DEFAULTS: dict[str, Any] = OrgSettings().model_dump(mode="json")


@dataclass(frozen=True)
class StoredSettings:
    """An org's settings as stored: the effective ``settings``, the ``overrides`` they were
    made from, and the ``version`` (0: never saved, so the defaults)."""

    org_id: str
    settings: OrgSettings
    overrides: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    updated_at: str | None = None
    updated_by: str | None = None

    def document(self) -> dict[str, Any]:
        """The JSON the API and the CLI show."""
        return {
            "org_id": self.org_id,
            "settings": self.settings.model_dump(mode="json"),
            "overrides": self.overrides,
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


def effective_settings(overrides: dict[str, Any]) -> OrgSettings:
    """The defaults with ``overrides`` laid over them; pydantic's ValidationError if invalid."""
    return OrgSettings.model_validate(deep_merge(_DEFAULTS, overrides))


class OrgSettingsRepository:
    """Reads and conditional writes of the settings item (``parley.state.versioned``), on any
    ``VersionedItems``; every read is consistent (one GetItem in DynamoDB), so a write is seen
    at once by the next read anywhere."""

    def __init__(
        self,
        table: str | VersionedItems,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
    ) -> None:
        # A table's name is that DynamoDB table (through ``client``); else the items to use.
        self._items = VersionedTable(table, client=client) if isinstance(table, str) else table
        self._clock = clock
        self._attempts = attempts

    def get(self, org_id: str) -> StoredSettings:
        """The org's settings. ConfigurationError when the stored document no longer
        validates (a PATCH that removes the bad field repairs it)."""
        stored = self._read(org_id)
        try:
            settings = effective_settings(stored.overrides)
        except ValidationError as exc:
            problem = summary(problems(exc.errors()))
            raise ConfigurationError(
                f"The stored settings of org {org_id} are not valid: {problem}. "
                "Change or remove the field with PATCH /v1/org/settings or `parley org set`."
            ) from exc
        return StoredSettings(
            org_id=org_id,
            settings=settings,
            overrides=stored.overrides,
            version=stored.version,
            updated_at=stored.updated_at,
            updated_by=stored.updated_by,
        )

    def update(
        self,
        org_id: str,
        patch: dict[str, Any],
        *,
        expected_version: int | None,
        updated_by: str,
        known_models: Collection[str] | None = None,
    ) -> StoredSettings:
        """Lay ``patch`` (a JSON merge patch: ``None`` removes an override) over the stored
        overrides, validate the result and save it as the next version.

        ``expected_version``: the version the caller read; PreconditionFailed if it is no
        longer current. None saves over whatever is current, still conditionally on the
        version just read, re-reading when another writer wins in between. ``known_models``
        (the catalog's names), when given, refuses settings naming any other model."""
        if not isinstance(patch, dict):
            raise ValidationFailed("The settings patch must be a JSON object.")
        _refuse_non_finite(patch)

        def change(current: _Raw) -> StoredSettings | None:
            overrides = deep_merge(current.overrides, patch)
            settings = _validated(overrides, known_models)
            overrides = _normalised(overrides, settings.model_dump(mode="json"))
            return self._write(org_id, current.version, overrides, settings, updated_by)

        return save_with_retries(
            lambda: self._read(org_id),
            change,
            attempts=self._attempts,
            expected_version=expected_version,
            stale=_stale,
            gave_up="The settings kept changing while being saved; read them and try again.",
        )

    def reset(
        self, org_id: str, *, expected_version: int | None, updated_by: str
    ) -> StoredSettings:
        """Return the org to the defaults (conditional like ``update``). An org that never
        saved settings is left as it is: it has the defaults already."""

        def change(current: _Raw) -> StoredSettings | None:
            if current.version == 0:
                return StoredSettings(org_id=org_id, settings=OrgSettings())
            return self._write(org_id, current.version, {}, OrgSettings(), updated_by)

        return save_with_retries(
            lambda: self._read(org_id),
            change,
            attempts=self._attempts,
            expected_version=expected_version,
            stale=_stale,
            gave_up="The settings kept changing while being reset; read them and try again.",
        )

    # Helpers -----------------------------------------------------------------------------

    def _read(self, org_id: str) -> _Raw:
        stored = self._items.read(_key(org_id))
        values = stored.attributes
        return _Raw(
            overrides=load_document(values.get("overrides"), f"settings of org {org_id}"),
            version=stored.version,
            updated_at=values.get("updated_at"),
            updated_by=values.get("updated_by"),
        )

    def _write(
        self,
        org_id: str,
        read_version: int,
        overrides: dict[str, Any],
        settings: OrgSettings,
        updated_by: str,
    ) -> StoredSettings | None:
        """Save as ``read_version + 1`` if the item is still at ``read_version``; None if
        another writer got there first."""
        document = dump_document(overrides, max_chars=MAX_DOCUMENT_CHARS, what="settings document")
        updated_at = iso_from_epoch(self._clock())
        attributes = {
            "type": "settings",
            "org_id": org_id,
            "overrides": document,
            "updated_at": updated_at,
            "updated_by": updated_by,
        }
        version = self._items.put(_key(org_id), read_version, attributes)
        if version is None:
            return None
        return StoredSettings(
            org_id=org_id,
            settings=settings,
            overrides=overrides,
            version=version,
            updated_at=updated_at,
            updated_by=updated_by,
        )


@dataclass(frozen=True)
class _Raw:
    overrides: dict[str, Any]
    version: int
    updated_at: str | None = None
    updated_by: str | None = None


def _key(org_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": _SETTINGS_SK}


def _stale(expected: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"The settings changed since version {expected} was read; read them again and "
        "reapply the change."
    )


def _validated(overrides: dict[str, Any], known_models: Collection[str] | None) -> OrgSettings:
    try:
        settings = effective_settings(overrides)
    except ValidationError as exc:
        raise validation_failed(exc.errors()) from exc
    if known_models is not None:
        unknown = settings.unknown_models(set(known_models))
        if unknown:
            raise ValidationFailed(
                f"These models are not in the catalog: {', '.join(unknown)}.",
                details=[
                    {"loc": [], "msg": f"{name} is not in the catalog", "type": "unknown_model"}
                    for name in unknown
                ],
            )
    return settings


def _normalised(overrides: Any, effective: Any) -> Any:
    """The overrides with each value as the model parsed it (``"800"`` becomes ``800``), so
    the stored document is canonical JSON of the same shape the org wrote."""
    if isinstance(overrides, dict) and isinstance(effective, dict):
        return {key: _normalised(value, effective.get(key)) for key, value in overrides.items()}
    return effective


def _refuse_non_finite(value: Any, where: tuple[str | int, ...] = ()) -> None:
    """NaN and infinity are not JSON, though Python's parser accepts them; an infinite cap
    would pass ``gt=0`` and break every sum made with it."""
    if isinstance(value, float) and not math.isfinite(value):
        loc = ".".join(str(part) for part in where)
        raise ValidationFailed(
            f"{loc}: must be a finite number",
            details=[{"loc": list(where), "msg": "must be a finite number", "type": "finite"}],
        )
    if isinstance(value, dict):
        for key, inner in value.items():
            _refuse_non_finite(inner, (*where, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _refuse_non_finite(inner, (*where, index))
