"""A long ``parley dev`` session: does the embedded DynamoDB slow down as its tables fill?

Run: ``.venv/bin/python bench/dev_dynamodb.py [--chats 1500] [--stock-chats 400]``. Prints JSON
and writes ``bench/results/dev_dynamodb.json``.

Method. ``parley dev`` runs as a user runs it, with its embedded moto (parley.apps.dev.localdb: one
request at a time, transactions rolled back from a backup of the items they write), and this
client sends ``--chats`` chats in a row to ``/v1/chat/stream``, each a new conversation
answered by the offline ``local`` model (no pause between its words, so the time is Parley's
and moto's), from the banner's development user, whose rate limit is lifted through
``parley org set``. Every chat stores its conversation, both messages and its usage, so the
tables grow all run long. Each stream is timed from the request to its ``done`` event; a
stream that ends otherwise stops the run. The figures: the median of the first 100 chats, of
the last 100, and their ratio (1.0: no slowdown); and, at the end, the resident memory of the
process moto runs in.

The baseline, in the same run: ``parley dev`` against moto as it ships (a ``moto_server``
process, through ``AWS_ENDPOINT_URL_DYNAMODB``, so nothing is patched), whose transactions
deep-copy every table they touch once per item: its ratio over ``--stock-chats`` chats (fewer,
as its chats slow down with each one), beside the embedded moto's ratio at the same count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from _processes import BIN, REPO, base_env, free_port, moto_server, rss_mb, wait_for
from _results import publish

if TYPE_CHECKING:
    from collections.abc import Iterator

RESULTS = REPO / "bench" / "results" / "dev_dynamodb.json"
WINDOW = 100  # chats at each end of a run whose median is compared
NO_RATE_LIMIT = {"rate_limits": {"user_per_minute": 0}}


class DevServer:
    """``parley dev`` in its own process; its banner (stderr) goes to a file, read for the
    token and the DynamoDB endpoint."""

    def __init__(self, log: Path, endpoint: str | None) -> None:
        env = {**base_env(), "PARLEY_LOCAL_TOKEN_DELAY_SECONDS": "0"}
        if endpoint is not None:
            env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                [str(BIN / "parley"), "dev", "--port", str(self.port)],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        deadline = time.monotonic() + 60
        while "curl" not in log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("parley dev did not start:\n" + log.read_text())
            time.sleep(0.1)
        banner = log.read_text()
        self.token = _banner_field(banner, "token")
        self.dynamodb = _banner_field(banner, "DynamoDB")
        self.emulated = "in-process moto server" in banner
        wait_for(f"{self.url}/healthz")
        lift = ["org", "set", "--org", "default", "--json", json.dumps(NO_RATE_LIMIT)]
        subprocess.run(
            [str(BIN / "parley"), *lift],
            cwd=REPO,
            env={**env, "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb},
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def _banner_field(banner: str, name: str) -> str:
    match = re.search(rf"^\s+{name}\s+(\S+)", banner, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {name} in the banner:\n{banner}")
    return match.group(1)


@contextmanager
def dev_server(log: Path, endpoint: str | None = None) -> Iterator[DevServer]:
    server = DevServer(log, endpoint)
    try:
        yield server
    finally:
        server.stop()


def chat(client: httpx.Client, server: DevServer, n: int) -> float:
    """One chat, in a conversation of its own; milliseconds from request to ``done``."""
    started = time.perf_counter()
    end = None
    with client.stream(
        "POST",
        f"{server.url}/v1/chat/stream",
        json={"message": f"Chat {n}: what does Parley store for a chat?"},
        headers={"Authorization": f"Bearer {server.token}"},
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: ") and '"type":"' in line:
                kind = json.loads(line[6:])["type"]
                if kind in ("done", "error"):
                    end = line
                    break
    elapsed = (time.perf_counter() - started) * 1000
    if end is None or '"type":"done"' not in end.replace(" ", ""):
        raise RuntimeError(f"chat {n} did not end with done: {end}")
    return elapsed


def session(server: DevServer, chats: int) -> list[float]:
    with httpx.Client(timeout=120) as client:
        return [chat(client, server, n) for n in range(chats)]


def summary(times: list[float], upto: int | None = None) -> dict[str, object]:
    run = times[:upto] if upto else times
    first = statistics.median(run[:WINDOW])
    last = statistics.median(run[-WINDOW:])
    return {
        "chats": len(run),  # every one ended with done: one that does not stops the run
        "first_100_median_ms": round(first, 2),
        "last_100_median_ms": round(last, 2),
        "ratio_last_to_first": round(last / first, 2),
        "total_s": round(sum(run) / 1000, 1),
        "median_ms_by_100": [
            round(statistics.median(run[n : n + WINDOW]), 1) for n in range(0, len(run), WINDOW)
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1500, help="chats with the embedded moto")
    parser.add_argument(
        "--stock-chats", type=int, default=400, help="chats with moto as it ships (0: skip)"
    )
    args = parser.parse_args()
    if args.chats < 2 * WINDOW or (args.stock_chats and args.stock_chats < 2 * WINDOW):
        parser.error(f"each run needs at least {2 * WINDOW} chats")
    if args.stock_chats > args.chats:
        parser.error("--stock-chats cannot exceed --chats (the comparison is at that count)")

    with tempfile.TemporaryDirectory() as folder:
        with dev_server(Path(folder) / "embedded.log") as server:
            assert server.emulated, "parley dev did not start its embedded moto"
            embedded = session(server, args.chats)
            runs: dict[str, dict[str, object]] = {"embedded_moto": summary(embedded)}
            # moto runs inside parley dev: its memory is that process's.
            runs["embedded_moto"]["rss_mb_at_end"] = rss_mb(server.process.pid)
        if args.stock_chats:
            with (
                moto_server() as (endpoint, moto_pid),
                dev_server(Path(folder) / "stock.log", endpoint) as server,
            ):
                assert not server.emulated
                stock = session(server, args.stock_chats)
                runs[f"embedded_moto_first_{args.stock_chats}"] = summary(
                    embedded, args.stock_chats
                )
                runs["stock_moto"] = summary(stock)
                runs["stock_moto"]["rss_mb_at_end"] = rss_mb(moto_pid)  # moto's own process
    report = {
        "metadata": {
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "method": "see bench/dev_dynamodb.py's docstring",
            "model": "local, no delay between words",
        },
        "runs": runs,
    }
    return publish(report, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
