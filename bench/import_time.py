"""Import time of Parley's modules and handlers, each measured in a fresh interpreter.

Run: ``.venv/bin/python bench/import_time.py [--repeat N]``. Prints JSON and writes it to
``bench/results/import_time.json``.

Method. Every sample is a new ``python -I -c CHILD`` process (Lambda pays imports once per cold
start, so a warm interpreter would measure nothing). Two figures are taken per sample:

* ``import_ms``: the child times its own ``__import__`` with ``time.perf_counter``. This is
  the primary figure. It contains exactly the import and the module-level code it runs (the
  chat handler builds its FastAPI app there) and nothing else: no process spawn, no interpreter
  start-up or teardown, whose jitter is the same size as the smaller modules' costs. It beats
  summing ``-X importtime`` output, which adds per-module bookkeeping to what it measures,
  leaves work outside imports uncounted, and needs every top-level entry summed (``import
  parley.http`` reports ``parley`` and ``parley.http`` as two top-level lines), an easy parse to
  get silently wrong.
* ``process_ms``: wall time of the whole child process, as seen by this script, reported
  with the bare interpreter's median subtracted. It is noisier, but it is what a cold start
  pays on top of the interpreter, and it cross-checks ``import_ms``.

The child imports nothing before the timed import (``sys`` is built in and ``time`` is already
loaded at start-up), so stdlib modules the target needs are charged to the target. ``-I`` keeps
the caller's PYTHON* variables and user site-packages out of the figures; the handler's
directory is passed as an argument instead of PYTHONPATH for that reason.

Each target is imported once, unmeasured, before sampling, so that compiling ``.pyc`` files is
not counted; samples then go round-robin over the targets so that drift in machine load
spreads over all of them instead of biasing whichever ran last.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from _results import publish

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "import_time.json"

LIBRARY_MODULES = (
    "parley",
    "parley.config",
    "parley.errors",
    "parley.telemetry",
    "parley.auth",
    "parley.http",
    "parley.hot",
    "parley.state",
    "parley.state.conversations",
    "parley.hot.dynamodb",
    "parley.hot.upstash",
)

# Importing any of these is a cold-start cost a handler should pay only when it calls that
# provider, so each result lists those that were loaded.
PROVIDER_SDKS = ("openai", "anthropic", "google.genai", "google.generativeai")

# Lets the handlers build their apps without deployment configuration, as `parley dev` does.
CHILD_ENV = {"PARLEY_ENV": "development", "POWERTOOLS_TRACE_DISABLED": "true"}

# argv: [module or "" for the bare interpreter, directory to put first on sys.path or ""].
# The timed region comes first; json is imported only after it.
CHILD = """
import sys, time
module, path = sys.argv[1:3]
if path:
    sys.path.insert(0, path)
start = time.perf_counter()
if module:
    __import__(module)
elapsed = time.perf_counter() - start
providers = sorted(
    name for name in sys.modules
    if any(name == sdk or name.startswith(sdk + ".") for sdk in sys.argv[3:])
)
import json
print(json.dumps({"import_s": elapsed, "provider_sdks": providers}))
"""


class Target(NamedTuple):
    name: str  # how the results label it
    module: str  # what the child imports; "" for the bare interpreter
    path: str = ""  # directory the module is found in, when it is not on sys.path already


class Sample(NamedTuple):
    import_ms: float
    process_ms: float
    provider_sdks: list[str]


BASELINE = Target("(bare interpreter)", "")


def targets() -> list[Target]:
    """The library modules, then every function's entry module: an app.py (the HTTP functions)
    or a handlers.py (the scheduled jobs)."""
    entries = sorted(
        [*(REPO / "functions").glob("*/app.py"), *(REPO / "functions").glob("*/handlers.py")]
    )
    handlers = [
        Target(str(entry.relative_to(REPO)), entry.stem, str(entry.parent)) for entry in entries
    ]
    return [Target(module, module) for module in LIBRARY_MODULES] + handlers


def run_child(target: Target) -> Sample:
    command = [sys.executable, "-I", "-c", CHILD, target.module, target.path, *PROVIDER_SDKS]
    start = time.perf_counter()
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **CHILD_ENV},
        check=False,
    )
    process_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"importing {target.name} failed:\n{done.stderr}")
    reported = json.loads(done.stdout.splitlines()[-1])  # after anything the module logged
    return Sample(reported["import_s"] * 1000, process_s * 1000, reported["provider_sdks"])


def summarise(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2)}


def measure(repeat: int) -> dict[str, object]:
    everything = [BASELINE, *targets()]
    for target in everything:
        run_child(target)  # warm-up: writes .pyc files and fills the OS file cache
    samples: dict[Target, list[Sample]] = {target: [] for target in everything}
    for _ in range(repeat):
        for target in everything:
            samples[target].append(run_child(target))

    baseline_ms = statistics.median(s.process_ms for s in samples[BASELINE])
    results = []
    for target in everything[1:]:
        runs = samples[target]
        process = summarise([s.process_ms for s in runs])
        process["median_minus_baseline"] = round(process["median"] - baseline_ms, 2)
        # Reported as the union over runs: a module that loads an SDK only sometimes is a bug too.
        providers = sorted({sdk for s in runs for sdk in s.provider_sdks})
        results.append(
            {
                "target": target.name,
                "import_ms": summarise([s.import_ms for s in runs]),
                "process_ms": process,
                "provider_sdks_loaded": providers,
            }
        )
    return {
        "metadata": {
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "machine": platform.machine(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "repeat": repeat,
            "child_env": CHILD_ENV,
            "method": "fresh `python -I` per sample; see bench/import_time.py's docstring",
        },
        "baseline": {
            "target": BASELINE.name,
            "process_ms": summarise([s.process_ms for s in samples[BASELINE]]),
        },
        "results": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="samples per target (default 7)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    return publish(measure(args.repeat), RESULTS)


if __name__ == "__main__":
    sys.exit(main())
