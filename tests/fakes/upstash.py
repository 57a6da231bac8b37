"""A loopback server that speaks Upstash's Redis REST protocol in front of a real redis-server.

What the ``upstash-redis`` client sends, and what it gets back:

    POST /             ["SET", "k", "v", "PX", 100]        -> {"result": "OK"}
    POST /pipeline     [["GET", "k"], ["INCR", "n"]]        -> [{"result": ...}, {"error": ...}]
    POST /multi-exec   [[...], [...]]  (MULTI ... EXEC)     -> [{"result": ...}, ...]

Every request needs ``Authorization: Bearer <token>``. With ``Upstash-Encoding: base64`` every
string in a result is base64-encoded, except the status reply ``OK``, which the client reads as
it is. Integers and nulls are never encoded; arrays are encoded element by element.

Lua scripts may open with ``#!lua flags=allow-key-locking``, a flag only Upstash knows (it locks
just the script's KEYS); redis-server refuses it, so the shim drops that one flag.
"""

from __future__ import annotations

import base64
import json
from http import HTTPStatus
from typing import Any

import redis

from tests.support.servers import LoopbackHTTPServer, QuietHandler


def encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return "OK" if value == b"OK" else base64.b64encode(value).decode()
    if isinstance(value, str):
        return "OK" if value == "OK" else base64.b64encode(value.encode()).decode()
    if isinstance(value, list):
        return [encode(item) for item in value]
    return value  # int or None


def plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _reply(value: Any, base64_encoding: bool) -> dict[str, Any]:
    if isinstance(value, redis.ResponseError):
        return {"error": f"ERR {value}"}
    return {"result": encode(value) if base64_encoding else plain(value)}


class UpstashShim(LoopbackHTTPServer):
    """Start with ``start()``; ``url`` and ``token`` are what an Upstash client needs."""

    def __init__(self, redis_port: int, *, token: str = "shim-token") -> None:
        self.token = token
        # No response callbacks: the shim relays raw replies, as Upstash does.
        self._redis = redis.Redis(host="127.0.0.1", port=redis_port)
        self._redis.response_callbacks.clear()
        self.requests: list[tuple[str, Any]] = []
        super().__init__(self._handler())

    @property
    def url(self) -> str:
        return self.base_url

    def start(self) -> UpstashShim:
        self.start_serving()
        return self

    def stop(self) -> None:
        self.stop_serving()
        self._redis.close()

    def _run(self, path: str, body: Any, base64_encoding: bool) -> tuple[int, Any]:
        """The HTTP status and JSON payload answering one request body."""
        if path == "/":
            return self._single(body, base64_encoding)
        if path in ("/pipeline", "/multi-exec"):
            return self._batch(body, base64_encoding, transaction=path == "/multi-exec")
        return HTTPStatus.NOT_FOUND, {"error": "ERR unknown endpoint"}

    def _single(self, body: Any, base64_encoding: bool) -> tuple[int, Any]:
        if not _is_command(body):
            return HTTPStatus.BAD_REQUEST, {"error": "ERR invalid command"}
        try:
            return HTTPStatus.OK, _reply(
                self._redis.execute_command(*_for_redis(body)), base64_encoding
            )
        except redis.ResponseError as exc:
            return HTTPStatus.BAD_REQUEST, {"error": f"ERR {exc}"}

    def _batch(self, body: Any, base64_encoding: bool, *, transaction: bool) -> tuple[int, Any]:
        if not isinstance(body, list) or not all(_is_command(c) for c in body):
            return HTTPStatus.BAD_REQUEST, {"error": "ERR invalid pipeline"}
        pipe = self._redis.pipeline(transaction=transaction)
        for command in body:
            pipe.execute_command(*_for_redis(command))
        try:
            results = pipe.execute(raise_on_error=False)
        except redis.ResponseError as exc:  # EXECABORT: a command was refused while queued
            return HTTPStatus.BAD_REQUEST, {"error": f"ERR {exc}"}
        return HTTPStatus.OK, [_reply(result, base64_encoding) for result in results]

    def _handler(self) -> type[QuietHandler]:
        shim = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {shim.token}":
                    self._send(HTTPStatus.UNAUTHORIZED, {"error": "Unauthorized"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self._send(HTTPStatus.BAD_REQUEST, {"error": "ERR invalid JSON"})
                    return
                shim.requests.append((self.path, body))
                base64_encoding = self.headers.get("Upstash-Encoding") == "base64"
                self._send(*shim._run(self.path, body, base64_encoding))

            def _send(self, status: int, payload: Any) -> None:
                self.send_json(status, json.dumps(payload).encode())

        return Handler


_UPSTASH_ONLY_FLAGS = {"allow-key-locking"}
_SCRIPT_COMMANDS = {("EVAL",), ("EVAL_RO",), ("SCRIPT", "LOAD")}


def _for_redis(command: list[Any]) -> list[Any]:
    """The command with Upstash-only script flags removed from its Lua script's shebang."""
    words = tuple(str(part).upper() for part in command[:2])
    verb = words[:2] if words[:2] == ("SCRIPT", "LOAD") else words[:1]
    position = len(verb)
    if verb not in _SCRIPT_COMMANDS or len(command) <= position:
        return command
    script = str(command[position])
    first_line, newline, rest = script.partition("\n")
    if not first_line.startswith("#!lua") or "flags=" not in first_line:
        return command
    head, _, flags = first_line.partition("flags=")
    kept = [flag for flag in flags.strip().split(",") if flag and flag not in _UPSTASH_ONLY_FLAGS]
    shebang = f"{head}flags={','.join(kept)}" if kept else head.rstrip()
    return [*command[:position], shebang + newline + rest, *command[position + 1 :]]


def _is_command(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(part, str | int | float) for part in value)
    )
