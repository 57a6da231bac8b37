"""What an operator does to an org's settings from the command line (``parley org show|set|
reset``; its tokens are ``parley.budget.admin``'s). Each returns the JSON the CLI prints.

These act on any org, as the operator names it: they run with the deployment's AWS
credentials, not a user's token, and are never reachable over HTTP.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from parley.errors import BadRequest
from parley.orgs.repository import OrgSettingsRepository
from parley.providers.catalog import load_catalog

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

__all__ = ["OPERATOR", "reset_settings", "set_settings", "show"]

OPERATOR = "operator:cli"  # `updated_by` of changes made here


def show(
    settings: Settings, org_id: str, *, client: DynamoDBClient | None = None
) -> dict[str, Any]:
    return _repository(settings, client).get(org_id).document()


def set_settings(
    settings: Settings,
    org_id: str,
    patch_json: str,
    *,
    expected_version: int | None = None,
    client: DynamoDBClient | None = None,
) -> dict[str, Any]:
    """Apply a JSON merge patch, as ``PATCH /v1/org/settings`` does, catalog check included."""
    try:
        patch = json.loads(patch_json)
    except ValueError as exc:
        raise BadRequest(f"--json is not valid JSON: {exc}.") from exc
    if not isinstance(patch, dict):
        raise BadRequest('--json must be a JSON object, e.g. \'{"default_mode": "cheap"}\'.')
    stored = _repository(settings, client).update(
        org_id,
        patch,
        expected_version=expected_version,
        updated_by=OPERATOR,
        known_models=load_catalog(settings.models_file).names(),
    )
    return stored.document()


def reset_settings(
    settings: Settings,
    org_id: str,
    *,
    expected_version: int | None = None,
    client: DynamoDBClient | None = None,
) -> dict[str, Any]:
    stored = _repository(settings, client).reset(
        org_id, expected_version=expected_version, updated_by=OPERATOR
    )
    return stored.document()


def _repository(settings: Settings, client: DynamoDBClient | None) -> OrgSettingsRepository:
    return OrgSettingsRepository(settings.accounts_table, client=client)
