"""Which DynamoDB endpoints imply local credentials: loopback ones, when the environment
names none of its own."""

from __future__ import annotations

import pytest

from parley.state.client import LOCAL_CREDENTIALS, implied_credentials


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8000",
        "http://127.4.5.6:4566",
        "http://localhost:8000",
        "http://dynamodb.localhost:8000",
        "http://[::1]:8000",
    ],
)
def test_a_loopback_endpoint_implies_local_credentials(endpoint: str) -> None:
    assert implied_credentials({"AWS_ENDPOINT_URL_DYNAMODB": endpoint}) == LOCAL_CREDENTIALS
    assert implied_credentials({"AWS_ENDPOINT_URL": endpoint}) == LOCAL_CREDENTIALS


@pytest.mark.parametrize(
    "endpoint",
    ["https://dynamodb.us-east-1.amazonaws.com", "http://10.0.0.5:8000", "http://notlocalhost:1"],
)
def test_any_other_endpoint_leaves_credentials_to_boto3(endpoint: str) -> None:
    assert implied_credentials({"AWS_ENDPOINT_URL_DYNAMODB": endpoint}) is None


def test_no_endpoint_means_aws_itself() -> None:
    assert implied_credentials({}) is None


@pytest.mark.parametrize("variable", ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
def test_credentials_the_environment_names_win(variable: str) -> None:
    environ = {"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", variable: "mine"}
    assert implied_credentials(environ) is None
