"""The deployment secret in Secrets Manager (moto server): JWT secret and provider keys."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest

from parley.auth import build_verifier, mint_token
from parley.config import Settings
from parley.errors import ConfigurationError, ServiceUnavailable
from parley.secrets import SecretStore

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

JWT_SECRET = "s" * 48


@pytest.fixture
def secretsmanager(moto_endpoint: str) -> SecretsManagerClient:
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint)


def make_secret(client: SecretsManagerClient, value: str) -> str:
    return client.create_secret(Name=f"parley-{uuid.uuid4().hex}", SecretString=value)["ARN"]


def test_values_are_read_from_the_json_secret(secretsmanager: SecretsManagerClient) -> None:
    arn = make_secret(secretsmanager, json.dumps({"openai_api_key": "sk-test", "empty": ""}))
    store = SecretStore(arn, boto3_client=secretsmanager)
    assert store.get("openai_api_key") == "sk-test"
    assert store.get("anthropic_api_key") is None
    assert store.get("empty") is None


def test_a_secret_that_is_not_a_json_object_is_a_configuration_error(
    secretsmanager: SecretsManagerClient,
) -> None:
    for value in ("plain text", "[1, 2]"):
        store = SecretStore(make_secret(secretsmanager, value), boto3_client=secretsmanager)
        with pytest.raises(ConfigurationError, match="JSON object"):
            store.get("anything")


def test_an_unreadable_secret_is_service_unavailable(
    secretsmanager: SecretsManagerClient,
) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf"
    with pytest.raises(ServiceUnavailable):
        SecretStore(missing, boto3_client=secretsmanager).get("jwt_secret")


def test_the_secret_is_cached_between_reads(secretsmanager: SecretsManagerClient) -> None:
    arn = make_secret(secretsmanager, json.dumps({"jwt_secret": "first"}))
    store = SecretStore(arn, boto3_client=secretsmanager, max_age_seconds=300)
    assert store.get("jwt_secret") == "first"
    secretsmanager.put_secret_value(SecretId=arn, SecretString=json.dumps({"jwt_secret": "2nd"}))
    assert store.get("jwt_secret") == "first"


def test_production_verifies_hs256_with_the_secret_from_secrets_manager(
    secretsmanager: SecretsManagerClient,
) -> None:
    arn = make_secret(secretsmanager, json.dumps({"jwt_secret": JWT_SECRET}))
    settings = Settings(env="production", secrets_arn=arn)
    verifier = build_verifier(settings, SecretStore(arn, boto3_client=secretsmanager))
    assert verifier.verify(mint_token(JWT_SECRET, user_id="u-prod")).user_id == "u-prod"
