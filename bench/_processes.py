"""Processes the benchmarks run on loopback: moto, the fake upstream, Parley itself. Each is
started and stopped by the benchmark; nothing listens beyond 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BENCH_KEY = "bench-key"
JWT_SECRET = "bench-secret-" + "x" * 40  # production mode refuses short or development secrets


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.02)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AWS_"))}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 (moto accepts anything)
        AWS_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        BENCH_KEY=BENCH_KEY,
    )
    return env


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def moto_server(*, lean_transactions: bool = False) -> Iterator[tuple[str, int]]:
    """A moto server process with the template's tables; yields (endpoint, pid).

    ``lean_transactions`` runs bench/_moto_lean.py: moto patched as ``parley dev``'s embedded
    moto is (parley.apps.dev.localdb), one request at a time and without its whole-table copy per
    transaction item (see that file for why). Otherwise it is moto as it ships."""
    port = free_port()
    launcher = (
        [sys.executable, str(Path(__file__).with_name("_moto_lean.py"))]
        if lean_transactions
        else [str(BIN / "moto_server")]
    )
    process = subprocess.Popen(
        [*launcher, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{endpoint}/moto-api/")
        reset_tables(endpoint)
        yield endpoint, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # moto as it ships keeps every object it ever made, each table copy of each
            # transaction item included (BaseModel.instances_tracked): after a long run its
            # exit can take longer than this.
            process.kill()
            process.wait(timeout=10)


def rss_mb(pid: int) -> float:
    """A process's resident memory (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def reset_tables(endpoint: str) -> None:
    """Empty moto and create the template's tables afresh.

    moto as it ships deep-copies a whole table for every item of a TransactWriteItems (to roll
    back), so its transactions slow down as a table fills; DynamoDB's do not, nor do the lean
    moto's. Benchmarks start each run from empty tables so that every run starts alike and,
    with ``--stock-moto``, this emulator cost stays small and the same for every run."""
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    env = {**base_env(), "AWS_ENDPOINT_URL_DYNAMODB": endpoint}
    create = (
        "from parley.config import Settings\n"
        "from parley.state import *\n"
        "s = Settings()\n"
        "create_tables(new_dynamodb_client(s.aws_region, 5), s,"
        " table_definitions(load_template(find_template())))\n"
    )
    subprocess.run([sys.executable, "-c", create], env=env, cwd=REPO, check=True)


@contextmanager
def fake_upstream(models: list[str], **script: Any) -> Iterator[tuple[str, int]]:
    """The fake upstream in its own process; yields (URL, pid)."""
    arguments = [f"--{key.replace('_', '-')}={value}" for key, value in script.items()]
    process = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "_fake_upstream.py"), *arguments, *models],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        url = process.stdout.readline().strip()
        if not url:
            raise RuntimeError("the fake upstream did not start")
        yield url, process.pid
    finally:
        process.stdin.close()
        process.wait(timeout=15)


def write_catalog(
    path: Path,
    upstream: str,
    models: dict[str, str],
    *,
    tiers: dict[str, str] | None = None,
    routing: dict[str, list[str]] | None = None,
) -> Path:
    """A catalog of ``name -> provider`` models served by the fake upstream (each in
    ``tiers[name]``, standard by default), with the ``routing`` chains given."""
    base = {
        "openai": f"{upstream}/v1",
        "openai_compatible": f"{upstream}/v1",
        "anthropic": upstream,
        "gemini": upstream,
    }
    entries = [
        {
            "name": name,
            "provider": provider,
            "model": name,
            "base_url": base[provider],
            "api_key_env": "BENCH_KEY",
            "tier": (tiers or {}).get(name, "standard"),
            "context_window": 100_000,
            "input_price_per_mtok": 1.0,
            "output_price_per_mtok": 4.0,
        }
        for name, provider in models.items()
    ]
    document: dict[str, Any] = {"default_model": next(iter(models)), "models": entries}
    if routing:
        document["routing"] = routing
    path.write_text(yaml.safe_dump(document))
    return path


def configure_org(endpoint: str, org: str, patch: dict[str, Any], grant: int = 0) -> None:
    """Org settings (and a token balance, which meters the org) through ``parley org``."""
    env = {**base_env(), "AWS_ENDPOINT_URL_DYNAMODB": endpoint}
    parley = [sys.executable, "-m", "parley.cli", "org"]
    commands = [[*parley, "set", "--org", org, "--json", json.dumps(patch)]]
    if grant:
        commands.append([*parley, "grant", "--org", org, "--tokens", str(grant)])
    for command in commands:
        subprocess.run(command, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def parley_env(moto: str, catalog: Path) -> dict[str, str]:
    """The deployed chat function's environment, pointed at loopback services."""
    return {
        **base_env(),
        "AWS_ENDPOINT_URL_DYNAMODB": moto,
        "PARLEY_ENV": "production",
        "PARLEY_JWT_SECRET": JWT_SECRET,
        "PARLEY_MODELS_FILE": str(catalog),
        "PARLEY_HOT_BACKEND": "memory",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def bench_token() -> str:
    from parley.auth import mint_token

    return mint_token(JWT_SECRET, user_id="bench-user", org_id="bench")
