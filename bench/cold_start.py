"""Cold start: process start to the first streamed token, with OpenAI, Anthropic and Gemini
models all in the catalog, against the same start with the three SDKs imported eagerly.

Run: ``.venv/bin/python bench/cold_start.py [--repeat 5]``. Prints JSON and writes
``bench/results/cold_start.json``.

Each sample starts the chat function as Lambda does (``python -m uvicorn app:app`` in
``functions/chat``, what run.sh execs under the Lambda Web Adapter), polls ``/healthz`` every
5 ms as the adapter's readiness check does, then sends one chat and times the first ``token``
event. DynamoDB is a moto server and the provider a fake upstream, each in its own process,
started before the clock and answering at once, so the figure is Parley's own cold start.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _processes import (
    REPO,
    bench_token,
    fake_upstream,
    free_port,
    moto_server,
    parley_env,
    write_catalog,
)
from _results import publish

RESULTS = REPO / "bench" / "results" / "cold_start.json"
MODELS = {"bench-openai": "openai", "bench-anthropic": "anthropic", "bench-gemini": "gemini"}
EAGER_IMPORTS = "import openai, anthropic; from google import genai"
TARGET_MS = 1000.0


def uvicorn_command(port: int, *, eager: bool) -> list[str]:
    serve = ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "app:app"]
    if not eager:
        return [sys.executable, "-m", "uvicorn", *serve]
    program = (
        f"{EAGER_IMPORTS}\nimport sys, uvicorn\nsys.argv = ['uvicorn', *{serve!r}]\nuvicorn.main()"
    )
    return [sys.executable, "-c", program]


def one_start(env: dict[str, str], model: str, *, eager: bool) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {bench_token()}"}
    started = time.perf_counter()
    process = subprocess.Popen(
        uvicorn_command(port, eager=eager),
        cwd=REPO / "functions" / "chat",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.005)
            if process.poll() is not None:
                raise RuntimeError("the chat function exited during start-up")
        ready = time.perf_counter() - started
        first_token = None
        body = {"message": "Hello, cold start", "model": model}
        with httpx.stream(
            "POST", f"{base}/v1/chat/stream", json=body, headers=headers, timeout=30
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if first_token is None and line.startswith("data: ") and '"type":"token"' in line:
                    first_token = time.perf_counter() - started
        done = time.perf_counter() - started
        if first_token is None:
            raise RuntimeError("the stream carried no token")
        return {
            "ready_ms": ready * 1000,
            "first_token_ms": first_token * 1000,
            "done_ms": done * 1000,
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def sdk_import_ms(statement: str, repeat: int) -> float:
    program = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", program], capture_output=True, text=True, check=True
            ).stdout
        )
        * 1000
        for _ in range(repeat)
    ]
    return round(statistics.median(samples), 1)


def summarise(samples: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    return {
        key: {
            "median": round(statistics.median(s[key] for s in samples), 1),
            "min": round(min(s[key] for s in samples), 1),
            "max": round(max(s[key] for s in samples), 1),
        }
        for key in samples[0]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as folder,
        moto_server() as (moto, _),
        fake_upstream(list(MODELS), chunks=5, chunk_delay=0, first_delay=0) as (upstream, _),
    ):
        catalog = write_catalog(Path(folder) / "models.yaml", upstream, MODELS)
        env = parley_env(moto, catalog)
        scenarios = {f"lazy:{model}": (model, False) for model in MODELS}
        scenarios["eager:bench-openai"] = ("bench-openai", True)
        one_start(env, "bench-openai", eager=False)  # warm-up: .pyc files, OS caches
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
        for _ in range(args.repeat):
            for name, (model, eager) in scenarios.items():
                samples[name].append(one_start(env, model, eager=eager))

    results = {name: summarise(runs) for name, runs in samples.items()}
    report = {
        "metadata": {
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "repeat": args.repeat,
            "method": "see bench/cold_start.py's docstring",
        },
        "sdk_import_ms": {
            "openai": sdk_import_ms("import openai", args.repeat),
            "anthropic": sdk_import_ms("import anthropic", args.repeat),
            "google.genai": sdk_import_ms("from google import genai", args.repeat),
            "all three": sdk_import_ms(EAGER_IMPORTS, args.repeat),
        },
        "cold_start": results,
        "target_first_token_ms": TARGET_MS,
        "meets_target": {
            name: result["first_token_ms"]["median"] < TARGET_MS
            for name, result in results.items()
            if name.startswith("lazy")
        },
    }
    return publish(report, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
