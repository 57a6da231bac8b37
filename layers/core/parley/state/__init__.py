"""DynamoDB state: the client, table definitions from template.yaml, and repositories."""

from parley.state.client import dynamodb_client, new_dynamodb_client
from parley.state.tables import TableDefinition, create_tables, table_definitions
from parley.state.template import find_template, load_template

__all__ = [
    "TableDefinition",
    "create_tables",
    "dynamodb_client",
    "find_template",
    "load_template",
    "new_dynamodb_client",
    "table_definitions",
]
