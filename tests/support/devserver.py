"""`parley dev` as a user runs it: the real command in a child process, on a free port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.conftest import REPO
from tests.support.servers import free_port, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DevServer", "clean_env", "parley", "run_job", "running_dev_server"]

BIN = Path(sys.executable).parent
TOKEN_LINE = re.compile(r"^\s+token\s+(\S+)$", re.MULTILINE)


def parley(*args: str) -> list[str]:
    # The console script `make dev` installs; the module if it is not on this interpreter.
    script = BIN / "parley"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "parley.cli", *args]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AWS_"))}
    env.pop("UPSTASH_REDIS_REST_URL", None)
    return env


class DevServer:
    """``parley dev`` with ``environment`` added to its variables. Its stderr (the banner,
    then anything werkzeug or uvicorn report) goes to ``log``, a file, never to a pipe that
    nobody reads after the banner and that would block the server once full."""

    def __init__(self, log: Path | None = None, **environment: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if log is None:
            handle, name = tempfile.mkstemp(prefix="parley-dev-", suffix=".log")
            os.close(handle)
            log = Path(name)
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                parley("dev", "--port", str(self.port)),
                cwd=REPO,
                env={**clean_env(), **environment},
                stdout=subprocess.DEVNULL,
                stderr=sink,
                text=True,
            )
        wait_until(self._banner_printed, timeout=60, what="parley dev")
        self.banner = log.read_text()
        wait_until(lambda: _answers(f"{self.url}/healthz"), timeout=30, what="parley dev")

    def _banner_printed(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"parley dev exited:\n{self.log.read_text()}")
        return "curl" in self.log.read_text()

    @property
    def token(self) -> str:
        match = TOKEN_LINE.search(self.banner)
        assert match, self.banner
        return match.group(1)

    @property
    def dynamodb_endpoint(self) -> str:
        """The emulated DynamoDB the banner names: where `parley org`/`parley jobs` reach it."""
        match = re.search(r"DynamoDB\s+(http://\S+)", self.banner)
        assert match, self.banner
        return match.group(1)

    def dynamodb(self) -> DynamoDBClient:
        """A client of that DynamoDB, with the credentials a loopback endpoint implies."""
        import boto3

        from parley.state.client import LOCAL_CREDENTIALS

        access_key, secret_key = LOCAL_CREDENTIALS
        client: DynamoDBClient = boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_endpoint,
            region_name="us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )
        return client

    @property
    def errors(self) -> str:
        """What the server wrote after its banner: tracebacks of failed requests."""
        return self.log.read_text()[len(self.banner) :]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


def running_dev_server() -> Iterator[DevServer]:
    """A started server, ready (``/healthz`` answers); stopped, and checked to exit 0, after."""
    server = DevServer()
    yield server
    assert server.stop() == 0


def run_job(server: DevServer, name: str) -> dict[str, Any]:
    """``parley jobs run <name>`` beside the server, as the README says: the endpoint its
    banner prints, and no AWS credentials. The result it prints."""
    done = subprocess.run(
        parley("jobs", "run", name),
        cwd=REPO,
        env={**clean_env(), "AWS_ENDPOINT_URL_DYNAMODB": server.dynamodb_endpoint},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
