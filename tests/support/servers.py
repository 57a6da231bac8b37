"""Real servers on loopback for the tests: redis-server, and small fake HTTP services."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(ready: Callable[[], bool], *, timeout: float = 10.0, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.02)
    raise TimeoutError(f"{what} was not ready within {timeout} s")


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A throwaway redis-server: no persistence, loopback only, stopped with the tests."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed. `make test` installs it (Debian package "
                "redis-server); or run `apt-get install redis-server`."
            )
        self.port = free_port()
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), what="redis-server")

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not print a line per request (pytest shows failures)."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def send_json(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _BurstHTTPServer(ThreadingHTTPServer):
    # http.server listens with a backlog of 5: a burst of concurrent clients (a race test's
    # many environments) would overflow it and see connections reset, which the services
    # these servers stand for never do.
    request_queue_size = 128


class LoopbackHTTPServer:
    """A threaded http.server on a free loopback port, for fake upstream services."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _BurstHTTPServer(("127.0.0.1", 0), handler)
        # shutdown() waits for the serving loop's next poll: 0.5 s by default, per server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_serving(self) -> None:
        self._thread.start()

    def stop_serving(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LiveServer:
    """uvicorn serving an ASGI app on a free loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self._thread.start()
        wait_until(lambda: self._server.started, what="uvicorn")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class UnansweredPort:
    """A loopback port where a TCP connect hangs until the client's connect timeout.

    The socket listens with a backlog of one and never accepts; once that queue is full (two
    connects of our own fill it), Linux drops further SYNs instead of refusing them, so the
    client waits exactly as it would for a host that does not answer."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._fillers: list[socket.socket] = []
        for _ in range(2):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self._fillers.append(filler)
        time.sleep(0.05)  # let the handshakes of the fillers complete

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()
