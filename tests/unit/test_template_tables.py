"""Tables are defined once, in template.yaml; everything else reads them from there."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from parley.config import Settings
from parley.errors import ConfigurationError
from parley.state.tables import table_definitions
from parley.state.template import find_template, load_template
from tests.conftest import REPO, TEMPLATE

if TYPE_CHECKING:
    from pathlib import Path


def test_short_cloudformation_tags_load_as_long_forms(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  A:\n"
        "    Properties:\n"
        "      Name: !Ref Other\n"
        "      Arn: !GetAtt Thing.Arn\n"
        "      Url: !Sub 'https://${AWS::Region}'\n"
        "      Pick: !If [Cond, [a], !Ref AWS::NoValue]\n"
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props["Name"] == {"Ref": "Other"}
    assert props["Arn"] == {"Fn::GetAtt": ["Thing", "Arn"]}
    assert props["Url"] == {"Fn::Sub": "https://${AWS::Region}"}
    assert props["Pick"] == {"Fn::If": ["Cond", ["a"], {"Ref": "AWS::NoValue"}]}


def test_every_table_in_the_template_is_named_by_a_setting() -> None:
    definitions = table_definitions(load_template(TEMPLATE))
    assert {d.logical_id for d in definitions} >= {"ConversationsTable", "HotTable"}
    settings = Settings()
    for definition in definitions:
        assert definition.settings_field in Settings.model_fields, definition
        assert definition.name(settings)


def test_definitions_carry_keys_indexes_and_ttl_from_the_template() -> None:
    by_id = {d.logical_id: d for d in table_definitions(load_template(TEMPLATE))}
    conversations = by_id["ConversationsTable"].create_table
    assert conversations["BillingMode"] == "PAY_PER_REQUEST"
    assert [k["AttributeName"] for k in conversations["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in conversations["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    assert "PointInTimeRecoverySpecification" not in conversations  # not a CreateTable key
    assert by_id["HotTable"].ttl_attribute == "ttl"
    assert by_id["IdempotencyTable"].ttl_attribute == "expiration"  # Powertools' default


def test_a_table_without_its_variable_is_a_configuration_error() -> None:
    template = {
        "Globals": {"Function": {"Environment": {"Variables": {}}}},
        "Resources": {"Lost": {"Type": "AWS::DynamoDB::Table", "Properties": {}}},
    }
    with pytest.raises(ConfigurationError, match="Lost"):
        table_definitions(template)


def test_the_template_is_found_from_a_subfolder_of_the_repository() -> None:
    assert find_template(start=REPO / "functions" / "chat") == TEMPLATE


def test_an_explicit_template_path_wins(tmp_path: Path) -> None:
    assert find_template(tmp_path / "elsewhere.yaml") == tmp_path / "elsewhere.yaml"


def test_an_unreadable_template_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read"):
        load_template(tmp_path / "absent.yaml")
    (tmp_path / "list.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigurationError, match="not a CloudFormation template"):
        load_template(tmp_path / "list.yaml")
