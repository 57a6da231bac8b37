"""A local DynamoDB for ``parley dev``: an in-process moto server with the template's tables."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.errors import ConfigurationError
from parley.state.client import new_dynamodb_client
from parley.state.tables import create_tables, table_definitions
from parley.state.template import find_template, load_template

if TYPE_CHECKING:
    from parley.config import Settings

__all__ = ["LocalDynamoDB", "prepare_local_dynamodb"]

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"


@dataclass
class LocalDynamoDB:
    endpoint: str
    emulated: bool  # True when this process started the emulator
    created_tables: list[str]


def prepare_local_dynamodb(settings: Settings) -> LocalDynamoDB:
    """Use the configured endpoint, or start moto on loopback; then create missing tables."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    emulated = endpoint is None
    if endpoint is None:
        endpoint = _start_moto()
        os.environ[ENDPOINT_VARIABLE] = endpoint
        # The emulator accepts any credentials; set some so boto3 never looks for real ones.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "parley-dev")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "parley-dev")
    client = new_dynamodb_client(settings.aws_region, settings.dynamodb_timeout_seconds)
    template = load_template(find_template(settings.template_file))
    created = create_tables(client, settings, table_definitions(template))
    return LocalDynamoDB(endpoint=endpoint, emulated=emulated, created_tables=created)


def _start_moto() -> str:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise ConfigurationError(
            "moto is not installed: run `make dev`, or set AWS_ENDPOINT_URL_DYNAMODB to a "
            "DynamoDB endpoint."
        ) from exc
    # werkzeug would log every emulated DynamoDB call beside Parley's own request lines.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"
