"""Gateway overhead: the same streams sent straight to a fake OpenAI-compatible upstream and
through Parley, in one run, at concurrency 1 and 8.

Run: ``.venv/bin/python bench/gateway_overhead.py [--streams 60] [--first-delay 0.05]``.
Prints JSON and writes ``bench/results/gateway_overhead.json`` (``…_stock_moto.json`` with
``--stock-moto``).

Each stream is 20 tokens: the upstream waits ``--first-delay`` before the first (a provider's
time to first token) and ``--chunk-delay`` between the others. Four processes on loopback: the
fake upstream, a moto server for DynamoDB (without its whole-table copy per transaction item
unless ``--stock-moto``: see bench/_moto_lean.py), Parley's chat function under uvicorn (production
settings: JWT auth, conversations and usage written to DynamoDB, EMF metrics, request logs)
and this client. Measured per stream: TTFT (request sent to first token read) and total
(request sent to the stream's end), and streams per second over each run.

Parley is measured on both of its streaming endpoints: ``/v1/chat/stream`` (Parley's SSE
protocol; stores both messages and a usage event) and ``/v1/chat/completions`` (OpenAI's
chunks; records usage only). Routing is on: requests name no model (``auto``), so each is
analysed, routed to the light tier's chain of two models, checked against the user's rate
limit (raised for the run through ``parley org set``) and the first model's circuit breaker,
and its org's balance is read. ``--metered`` also grants the org a balance, so every stream
holds and settles its cost with two DynamoDB transactions.

The crisis guardrail screens every message (its prefilter, and a hot-store read of the
conversation's cool-down); the prompt is an ordinary one, which it lets through.
``parley_stream_unguarded`` is the same stream with the org's guardrail turned off, in the
same run: ``guardrail`` in the overhead compares the two (what screening adds to a message it
does not flag).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _processes import (
    BENCH_KEY,
    REPO,
    bench_token,
    configure_org,
    cpu_seconds,
    fake_upstream,
    free_port,
    moto_server,
    parley_env,
    reset_tables,
    wait_for,
    write_catalog,
)
from _results import publish

RESULTS = REPO / "bench" / "results" / "gateway_overhead.json"
MODEL = "bench-light"  # what the light tier's chain tries first
BACKUP = "bench-standard"
ORG = "bench"
# The runs send hundreds of streams a minute from one user: lift the default 20 a minute.
ORG_SETTINGS = {"rate_limits": {"user_per_minute": 1_000_000}}
PROMPT = "Summarise the plot of Hamlet in twenty words."
TARGETS = {1: 2.0, 8: 10.0}  # added TTFT p50 in ms, by concurrency
THROUGHPUT_TARGET = 0.8


@dataclass
class Sample:
    ttft: float
    total: float


@dataclass(frozen=True)
class Route:
    """One way of sending a stream: where to, what body, how to spot tokens and the end."""

    name: str
    url: str
    headers: dict[str, str]
    body: dict[str, object]
    token_marker: str
    end_marker: str
    org_settings: dict[str, object] | None = None  # on top of ORG_SETTINGS for this route

    async def one(self, client: httpx.AsyncClient) -> Sample:
        started = time.perf_counter()
        first = None
        finished = False
        async with client.stream(
            "POST", self.url, json=self.body, headers=self.headers
        ) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if first is None and self.token_marker in line:
                    first = time.perf_counter()
                if self.end_marker in line:
                    finished = True
                    break
        ended = time.perf_counter()
        if first is None or not finished:
            raise RuntimeError(f"{self.name}: the stream did not deliver tokens and end")
        return Sample((first - started) * 1000, (ended - started) * 1000)


async def run(path: Route, streams: int, concurrency: int) -> dict[str, object]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        for _ in range(min(10, streams)):  # warm-up: connections, first-call paths
            await path.one(client)
        samples: list[Sample] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(streams):
            queue.put_nowait(index)

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                samples.append(await path.one(client))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "streams": streams,
        "concurrency": concurrency,
        "ttft_ms": percentiles([s.ttft for s in samples]),
        "total_ms": percentiles([s.total for s in samples]),
        "streams_per_second": round(streams / elapsed, 2),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=60, help="streams per run at concurrency 1")
    parser.add_argument("--first-delay", type=float, default=0.05)
    parser.add_argument("--chunk-delay", type=float, default=0.005)
    parser.add_argument(
        "--stock-moto",
        action="store_true",
        help="DynamoDB as stock moto, whose transactions copy whole tables (see _moto_lean.py)",
    )
    parser.add_argument(
        "--metered", action="store_true", help="grant the org a balance: reserve and settle"
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as folder,
        moto_server(lean_transactions=not args.stock_moto) as (moto, moto_pid),
        fake_upstream(
            [MODEL, BACKUP], chunks=20, chunk_delay=args.chunk_delay, first_delay=args.first_delay
        ) as (upstream, upstream_pid),
    ):
        catalog = write_catalog(
            Path(folder) / "models.yaml",
            upstream,
            {MODEL: "openai_compatible", BACKUP: "openai_compatible"},
            tiers={MODEL: "light"},
            routing={"light": [MODEL, BACKUP], "standard": [BACKUP, MODEL]},
        )
        port = free_port()
        parley = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "app:app",
            ],
            cwd=REPO / "functions" / "chat",
            env=parley_env(moto, catalog),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz")
            auth = {"Authorization": f"Bearer {bench_token()}"}
            completion = {
                "model": MODEL,
                "messages": [{"role": "user", "content": PROMPT}],
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            paths = [
                Route(
                    "direct",
                    f"{upstream}/v1/chat/completions",
                    {"Authorization": f"Bearer {BENCH_KEY}"},
                    completion,
                    '"content":"token',
                    "[DONE]",
                ),
                Route(
                    "parley_stream",
                    f"{base}/v1/chat/stream",
                    auth,
                    {"message": PROMPT},
                    '"type":"token"',
                    '"type":"done"',
                ),
                Route(
                    "parley_stream_unguarded",
                    f"{base}/v1/chat/stream",
                    auth,
                    {"message": PROMPT},
                    '"type":"token"',
                    '"type":"done"',
                    org_settings={"guardrails": {"enabled": False}},
                ),
                Route(
                    "parley_completions",
                    f"{base}/v1/chat/completions",
                    auth,
                    {**completion, "model": "auto"},
                    '"content":"token',
                    "[DONE]",
                ),
            ]
            runs: dict[str, dict[int, dict[str, object]]] = {p.name: {} for p in paths}
            processes = {"parley": parley.pid, "moto": moto_pid, "upstream": upstream_pid}
            for concurrency, streams in ((1, args.streams), (8, args.streams * 2)):
                for path in paths:
                    reset_tables(moto)
                    settings = {**ORG_SETTINGS, **(path.org_settings or {})}
                    configure_org(moto, ORG, settings, grant=10**12 if args.metered else 0)
                    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
                    result = asyncio.run(run(path, streams, concurrency))
                    # CPU per stream of each server process (warm-up streams included).
                    measured = streams + min(10, streams)
                    result["cpu_ms_per_stream"] = {
                        name: round((cpu_seconds(pid) - before[name]) * 1000 / measured, 2)
                        for name, pid in processes.items()
                    }
                    runs[path.name][concurrency] = result
        finally:
            parley.terminate()
            parley.wait(timeout=10)

    report = {
        "metadata": {
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "cpus": __import__("os").cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "upstream": {
                "tokens": 20,
                "first_delay_s": args.first_delay,
                "chunk_delay_s": args.chunk_delay,
            },
            "method": "see bench/gateway_overhead.py's docstring",
            "dynamodb": "stock moto" if args.stock_moto else "moto, lean transactions",
            "routing": "auto mode, light chain of two models",
            "metered": args.metered,
        },
        "runs": runs,
        "overhead": overhead(runs),
    }
    suffix = ("_stock_moto" if args.stock_moto else "") + ("_metered" if args.metered else "")
    return publish(report, RESULTS.with_stem(RESULTS.stem + suffix))


def overhead(runs: dict[str, dict[int, dict[str, object]]]) -> dict[str, object]:
    """Parley minus direct, per endpoint and concurrency, with the targets."""
    result: dict[str, object] = {}
    for name in ("parley_stream", "parley_completions"):
        for concurrency, target in TARGETS.items():
            direct, through = runs["direct"][concurrency], runs[name][concurrency]
            added = {
                key: round(through["ttft_ms"][key] - direct["ttft_ms"][key], 2)  # type: ignore[index]
                for key in ("p50", "p95", "p99")
            }
            added_total = round(through["total_ms"]["p50"] - direct["total_ms"]["p50"], 2)  # type: ignore[index]
            ratio = round(through["streams_per_second"] / direct["streams_per_second"], 3)  # type: ignore[operator]
            result[f"{name}@{concurrency}"] = {
                "added_ttft_ms": added,
                "added_total_p50_ms": added_total,
                "throughput_ratio": ratio,
                "target_added_ttft_p50_ms": target,
                "meets_ttft_target": added["p50"] <= target,
                "meets_throughput_target": ratio >= THROUGHPUT_TARGET,
            }
    for concurrency in TARGETS:
        guarded, unguarded = (
            runs["parley_stream"][concurrency],
            runs["parley_stream_unguarded"][concurrency],
        )
        result[f"guardrail@{concurrency}"] = {
            "added_ttft_ms": {
                key: round(guarded["ttft_ms"][key] - unguarded["ttft_ms"][key], 2)  # type: ignore[index]
                for key in ("p50", "p95")
            },
            "throughput_ratio": round(
                guarded["streams_per_second"] / unguarded["streams_per_second"],  # type: ignore[operator]
                3,
            ),
        }
    return result


if __name__ == "__main__":
    sys.exit(main())
