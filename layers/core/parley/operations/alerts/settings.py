"""Each org's alert thresholds, from its settings (``OrgSettings.alerts``), read once per org
and evaluation. An org whose stored settings no longer validate is judged on the defaults
(and says so in the log) rather than not at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.errors import ParleyError
from parley.orgs.repository import OrgSettingsRepository
from parley.orgs.settings import AlertSettings
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["org_alert_settings"]


def org_alert_settings(
    accounts_table: str, client: DynamoDBClient
) -> Callable[[str], AlertSettings]:
    repository = OrgSettingsRepository(accounts_table, client=client)

    def read(org_id: str) -> AlertSettings:
        try:
            return repository.get(org_id).settings.alerts
        except ParleyError as exc:
            logger.warning("Alerts judged on the defaults", org_id=org_id, error=exc.code)
            return AlertSettings()

    return read
