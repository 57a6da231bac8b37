"""The preferences item in DynamoDB (moto server, tables made from template.yaml): where and
how it is stored. How the repository behaves, on DynamoDB and in memory, is in
test_preferences_contract.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from parley.preferences.repository import PreferencesRepository
from parley.state.items import from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

ORG, USER = "acme", "alice"


@pytest.fixture
def repo(settings: Settings, dynamodb: DynamoDBClient) -> PreferencesRepository:
    return PreferencesRepository(settings.accounts_table, client=dynamodb, clock=lambda: 1.8e9)


def test_update_is_stored_in_the_documented_item(
    repo: PreferencesRepository, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    patch = {"preferences": {"pictures": {"defaultStyle": "watercolor"}}}
    stored = repo.update(ORG, USER, patch, expected_version=0)
    assert stored.version == 1
    item = dynamodb.get_item(
        TableName=settings.accounts_table,
        Key={"pk": {"S": f"USER#{ORG}#{USER}"}, "sk": {"S": "PREFERENCES"}},
    )["Item"]
    values = from_item(dict(item))
    assert values["version"] == 1
    assert values["type"] == "preferences"
    assert values["explicit"] == '{"preferences":{"pictures":{"defaultStyle":"watercolor"}}}'
    assert repo.get(ORG, USER).explicit == patch
