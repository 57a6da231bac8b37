"""moto's server, patched, on a free loopback port of this process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.apps.dev.localdb.patch import patch_moto_dynamodb
from parley.errors import ConfigurationError

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

__all__ = ["MotoServer", "start_moto_server"]


@dataclass
class MotoServer:
    endpoint: str
    server: ThreadedMotoServer

    def stop(self) -> None:
        self.server.stop()


def start_moto_server() -> MotoServer:
    """moto, patched (``patch_moto_dynamodb``), serving on a free loopback port from a thread
    of this process."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise ConfigurationError(
            "moto is not installed: run `make dev`, or set AWS_ENDPOINT_URL_DYNAMODB to a "
            "DynamoDB endpoint."
        ) from exc
    patch_moto_dynamodb()
    # werkzeug would log every emulated DynamoDB call beside Parley's own request lines.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoServer(endpoint=f"http://{host}:{port}", server=server)
