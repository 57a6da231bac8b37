"""`parley dev` as a user runs it: the real command in a child process, on a free port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.conftest import REPO
from tests.support.servers import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["DevServer", "clean_env", "parley", "running_dev_server"]

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
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            parley("dev", "--port", str(port)),
            cwd=REPO,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.banner = self._read_banner()

    def _read_banner(self) -> str:
        assert self.process.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                if self.process.poll() is not None:
                    raise AssertionError("parley dev exited:\n" + "".join(lines))
                continue
            lines.append(line)
            if "curl" in line:
                return "".join(lines)
        raise AssertionError("no banner from parley dev:\n" + "".join(lines))

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

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=20)


def running_dev_server() -> Iterator[DevServer]:
    """A started server, ready (``/healthz`` answers); stopped, and checked to exit 0, after."""
    server = DevServer(free_port())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    yield server
    assert server.stop() == 0
