"""Table definitions taken from ``template.yaml``, and creating them on a local endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from parley.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

__all__ = ["TableDefinition", "create_tables", "table_definitions"]

_TABLE_TYPE = "AWS::DynamoDB::Table"
# CreateTable parameters that CloudFormation spells the same way; the rest of a table's
# properties (PITR, SSE, deletion protection, tags) mean nothing to a local emulator.
_CREATE_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)


@dataclass(frozen=True)
class TableDefinition:
    logical_id: str
    settings_field: str  # the Settings field (and PARLEY_ variable) holding the table's name
    create_table: dict[str, Any]
    ttl_attribute: str | None

    def name(self, settings: Settings) -> str:
        return str(getattr(settings, self.settings_field))


def table_definitions(template: dict[str, Any]) -> list[TableDefinition]:
    """Every DynamoDB table in the template, with the variable that passes its name to the
    functions (``PARLEY_X_TABLE: !Ref XTable`` in the Globals)."""
    variables = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    variable_for = {
        value["Ref"]: name
        for name, value in variables.items()
        if isinstance(value, dict) and "Ref" in value
    }
    definitions = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != _TABLE_TYPE:
            continue
        variable = variable_for.get(logical_id)
        if variable is None or not variable.startswith("PARLEY_"):
            raise ConfigurationError(
                f"Table {logical_id} has no PARLEY_* variable in Globals naming it."
            )
        properties = resource.get("Properties", {})
        ttl = properties.get("TimeToLiveSpecification", {})
        definitions.append(
            TableDefinition(
                logical_id=logical_id,
                settings_field=variable.removeprefix("PARLEY_").lower(),
                create_table={k: properties[k] for k in _CREATE_TABLE_KEYS if k in properties},
                ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
            )
        )
    return definitions


def create_tables(
    client: DynamoDBClient, settings: Settings, definitions: list[TableDefinition]
) -> list[str]:
    """Create the tables that do not exist yet (local emulators only); returns their names."""
    pages = client.get_paginator("list_tables").paginate()
    existing = {name for page in pages for name in page["TableNames"]}
    created = []
    for definition in definitions:
        name = definition.name(settings)
        if name in existing:
            continue
        client.create_table(TableName=name, **definition.create_table)
        client.get_waiter("table_exists").wait(TableName=name)
        if definition.ttl_attribute:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "Enabled": True,
                    "AttributeName": definition.ttl_attribute,
                },
            )
        created.append(name)
    return created
