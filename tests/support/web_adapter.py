"""The Lambda Web Adapter's part, played by a test, for the chat function (which has no Lambda
handler: ``Handler: run.sh`` under the adapter's layer).

In Lambda the adapter (``AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap``) executes ``run.sh`` in the
task root, polls ``AWS_LWA_READINESS_CHECK_PATH`` on ``AWS_LWA_PORT`` until the app answers
with a status under 500, then turns each function-URL event (payload format 2.0) into an HTTP
request to that port: method, ``rawPath`` and ``rawQueryString``, the headers, ``cookies`` as
one ``cookie`` header, the body (base64-decoded when ``isBase64Encoded``), and the event's
``requestContext`` in ``x-amzn-request-context``. In ``response_stream`` mode it passes the
status, headers and each body chunk on as the app writes them; in ``buffered`` mode it returns
one function-URL response (``statusCode``, ``headers``, ``body``, base64 unless the body is
text). ``WebAdapter`` does the same with the real ``run.sh`` in a child process, on loopback.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.conftest import REPO
from tests.support.servers import free_port, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["WebAdapter"]

_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


class WebAdapter:
    """``run.sh`` of ``task_root`` started with ``environment`` (what Lambda would give the
    function) on a free port; its output goes to ``log``."""

    def __init__(self, task_root: Path, environment: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.readiness_path = environment.get("AWS_LWA_READINESS_CHECK_PATH", "/")
        self.log = log
        # run.sh finds `python` on PATH (the runtime's) and the layer on PYTHONPATH (/opt/python
        # in Lambda): here this interpreter, and the library from the repository.
        process_env = {
            **environment,
            "AWS_LWA_PORT": str(self.port),
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": "",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO / "layers" / "core"),
        }
        for name in ("HOME", "PYENV_VERSION"):
            if name in os.environ:
                process_env[name] = os.environ[name]
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                [str(task_root / "run.sh")],
                cwd=task_root,
                env=process_env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30.0)

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"run.sh exited with {self.process.returncode}:\n{self.output}")
            try:
                return self._http.get(self.readiness_path).status_code < 500
            except httpx.TransportError:
                return False

        wait_until(ready, timeout=timeout, what="the chat function's app")

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    @contextmanager
    def stream(self, event: dict[str, Any]) -> Iterator[httpx.Response]:
        """``event`` as ``response_stream`` mode sends it: the open response, its body read
        chunk by chunk as the app writes it."""
        with self._http.stream(**_request(event)) as response:
            yield response

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """``event`` as ``buffered`` mode answers it: one function-URL response."""
        response = self._http.request(**_request(event))
        content_type = response.headers.get("content-type", "")
        text = content_type.startswith(_TEXT_TYPES)
        return {
            "statusCode": response.status_code,
            "headers": dict(response.headers),
            "body": response.text if text else base64.b64encode(response.content).decode(),
            "isBase64Encoded": not text,
        }

    def stop(self) -> None:
        self._http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _request(event: dict[str, Any]) -> dict[str, Any]:
    headers = dict(event.get("headers", {}))
    if event.get("cookies"):
        headers["cookie"] = "; ".join(event["cookies"])
    headers["x-amzn-request-context"] = json.dumps(event["requestContext"])
    body = event.get("body")
    content = (
        None
        if body is None
        else base64.b64decode(body)
        if event.get("isBase64Encoded")
        else body.encode()
    )
    query = event.get("rawQueryString", "")
    return {
        "method": event["requestContext"]["http"]["method"],
        "url": event["rawPath"] + (f"?{query}" if query else ""),
        "headers": headers,
        "content": content,
    }
