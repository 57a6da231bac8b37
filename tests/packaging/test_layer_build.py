"""`sam build` produces a deployable core layer and functions: the layer holds the parley
package and every pinned dependency at its pinned version, and the chat app imports from the
build output alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import Distribution
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PINS = REPO / "layers" / "core" / "requirements.txt"
SAM_BUILD_TIMEOUT_S = 600

# pytest's default timeout (pyproject) would stop the build long before SAM_BUILD_TIMEOUT_S.
pytestmark = [pytest.mark.build, pytest.mark.timeout(SAM_BUILD_TIMEOUT_S + 120)]

PARLEY_PACKAGES = ("parley", "parley/http", "parley/auth", "parley/hot", "parley/state")
PIN_LINE = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>\S+)")

# Run with -I -S: no site-packages, no user site, no PYTHONPATH, no current directory. Only the
# standard library and the two build directories are importable, as /opt/python and the task
# root are under Lambda, so each import below can succeed only from the build output.
IMPORT_FROM_BUILD = """
import importlib.util, json, sys
sys.path[:0] = sys.argv[1:3]
import app
import aws_lambda_powertools, fastapi, jwt, parley, pydantic_settings, upstash_redis, uvicorn, yaml
import parley.providers.anthropic, parley.providers.gemini, parley.providers.openai
import anthropic, openai
from google import genai
modules = (app, aws_lambda_powertools, fastapi, jwt, parley, pydantic_settings, upstash_redis,
           uvicorn, yaml, anthropic, openai, genai)
print(json.dumps({
    "title": app.app.title,
    "files": {module.__name__: module.__file__ for module in modules},
    # Control: pytest lives only in the test environment, so it must not be importable here.
    "pytest_importable": importlib.util.find_spec("pytest") is not None,
}))
"""


def canonical(name: str) -> str:
    """PEP 503 normalisation: `PyJWT`, `pyjwt` and `py_jwt` name one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_versions() -> dict[str, str]:
    pins = {}
    for raw in PINS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        # Anything but `name==version` fails loudly rather than escaping the check.
        pin = PIN_LINE.fullmatch(line)
        assert pin, f"unexpected line in {PINS}: {raw!r}"
        pins[canonical(pin["name"])] = pin["version"]
    assert pins, f"no pins found in {PINS}"
    return pins


def shipped_versions(site_dir: Path) -> dict[str, list[str]]:
    """Every distribution installed in site_dir, by canonical name, read from its METADATA."""
    shipped: dict[str, list[str]] = {}
    for dist_info in sorted(site_dir.glob("*.dist-info")):
        dist = Distribution.at(dist_info)
        shipped.setdefault(canonical(dist.metadata["Name"]), []).append(dist.version)
    return shipped


def sam_cli() -> Path:
    configured = os.environ.get("SAM_CLI")
    candidates = [Path(configured)] if configured else []
    candidates.append(REPO / ".venv-sam" / "bin" / "sam")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        f"SAM CLI not found (SAM_CLI={configured!r}, nor {candidates[-1]}). "
        "Run `make test`, which installs it in .venv-sam and sets SAM_CLI."
    )


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `sam build` of template.yaml, shared by the tests below (it takes tens of seconds)."""
    sam = sam_cli()
    build = tmp_path_factory.mktemp("sam") / "build"
    command = [
        str(sam),
        "build",
        "--template-file",
        str(REPO / "template.yaml"),
        "--build-dir",
        str(build),
        "--base-dir",
        str(REPO),
        # samconfig.toml turns caching on for `make build`; this test proves a clean build from
        # the pins, and a cached one would also write into the repository's .aws-sam.
        "--no-cached",
    ]
    # The environment is passed on as is: SAM finds python3.12 on PATH, which under pyenv
    # needs PYENV_VERSION (the Makefile exports it). Telemetry would try to reach the internet.
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=SAM_BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`sam build` did not finish within {SAM_BUILD_TIMEOUT_S} s: {exc}")
    if done.returncode != 0:
        pytest.fail(
            f"`sam build` failed (exit {done.returncode}). It needs python3.12 on PATH "
            "(with pyenv: PYENV_VERSION=3.12.x, as `make test` sets) and access to PyPI.\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return build


@pytest.fixture(scope="module")
def layer_dir(build_dir: Path) -> Path:
    return build_dir / "CoreLayer" / "python"


@pytest.fixture(scope="module")
def function_dir(build_dir: Path) -> Path:
    return build_dir / "ChatFunction"


def test_core_layer_contains_the_parley_package_and_its_subpackages(layer_dir: Path) -> None:
    missing = [pkg for pkg in PARLEY_PACKAGES if not (layer_dir / pkg / "__init__.py").is_file()]
    assert not missing, f"missing from {layer_dir}: {missing}"


def test_core_layer_ships_every_pinned_package_at_its_pinned_version(layer_dir: Path) -> None:
    shipped = shipped_versions(layer_dir)
    wrong = {
        name: {"pinned": version, "shipped": shipped.get(name, [])}
        for name, version in pinned_versions().items()
        if shipped.get(name) != [version]
    }
    assert not wrong, f"layer packages differ from {PINS.name}: {wrong}"


def test_core_layer_ships_no_package_that_is_not_pinned(layer_dir: Path) -> None:
    # requirements.txt claims to pin every package the layer ships; a dependency pip added on
    # its own would go out at whatever version PyPI had that day.
    unpinned = sorted(set(shipped_versions(layer_dir)) - set(pinned_versions()))
    assert not unpinned, f"shipped but not pinned in {PINS.name}: {unpinned}"


def test_core_layer_ships_the_maintained_provider_sdks_only(layer_dir: Path) -> None:
    # The adapters import these on first use; google-generativeai reached end of life in 2025
    # and google-genai replaces it, so the old package must not come along.
    shipped = set(shipped_versions(layer_dir))
    assert {"openai", "anthropic", "google-genai"} <= shipped
    assert "google-generativeai" not in shipped
    assert not (layer_dir / "google" / "generativeai").exists()


def test_every_module_of_the_layer_ships_compiled_for_lambdas_read_only_opt(
    layer_dir: Path,
) -> None:
    # /opt is read-only in Lambda: without shipped bytecode every cold start compiles every
    # imported module. Hash-based, unchecked .pyc files stay valid whatever mtimes the zip
    # gives the sources (flags word 0b01 in the header, PEP 552).
    missing, timestamped = [], []
    for source in layer_dir.rglob("*.py"):
        compiled = (
            source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
        )
        if not compiled.is_file():
            missing.append(str(source.relative_to(layer_dir)))
        elif int.from_bytes(compiled.read_bytes()[4:8], "little") != 0b01:
            timestamped.append(str(compiled.relative_to(layer_dir)))
    assert not missing, f"{len(missing)} modules without bytecode, e.g. {missing[:5]}"
    assert not timestamped, f"{len(timestamped)} timestamp-checked .pyc, e.g. {timestamped[:5]}"


def test_chat_function_has_its_app_and_an_executable_run_sh(function_dir: Path) -> None:
    assert (function_dir / "app.py").is_file()
    run_sh = function_dir / "run.sh"
    assert run_sh.is_file()
    # The Lambda Web Adapter executes run.sh directly; without the bit the function cannot start.
    assert os.access(run_sh, os.X_OK), f"{run_sh} is not executable"


def test_chat_app_imports_from_the_build_output_alone(
    build_dir: Path, layer_dir: Path, function_dir: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", IMPORT_FROM_BUILD, str(layer_dir), str(function_dir)],
        cwd=build_dir,
        env={**os.environ, "PARLEY_ENV": "development", "POWERTOOLS_TRACE_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"importing from the build output failed:\n{done.stderr}"
    # The report is the last line: anything the app logs to stdout comes before it.
    report = json.loads(done.stdout.splitlines()[-1])

    assert report["title"] == "Parley chat"
    assert report["pytest_importable"] is False, "the isolation leaks the test environment"
    outside = {
        name: file
        for name, file in report["files"].items()
        if not Path(file).resolve().is_relative_to(build_dir.resolve())
    }
    assert not outside, f"imported from outside the build output: {outside}"


# Each buffered JSON function and the job: its entry point imports from the build output alone
# and exports a callable Lambda handler.
IMPORT_HANDLER_FROM_BUILD = """
import importlib, json, sys
sys.path[:0] = sys.argv[1:3]
module = importlib.import_module(sys.argv[3])
handler = getattr(module, sys.argv[4])
print(json.dumps({"callable": callable(handler), "file": module.__file__,
                  "parley": importlib.import_module("parley").__file__}))
"""


@pytest.mark.parametrize(
    ("function", "module", "attribute"),
    [
        ("PreferencesFunction", "app", "handler"),
        ("FeedbackFunction", "app", "handler"),
        ("LearnPreferencesFunction", "handlers", "learn_preferences"),
    ],
)
def test_each_function_handler_imports_from_the_build_output_alone(
    build_dir: Path, layer_dir: Path, function: str, module: str, attribute: str
) -> None:
    code_dir = build_dir / function
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            IMPORT_HANDLER_FROM_BUILD,
            str(layer_dir),
            str(code_dir),
            module,
            attribute,
        ],
        cwd=build_dir,
        env={
            **os.environ,
            "PARLEY_ENV": "development",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_REGION": "us-east-1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"importing {function} from the build output failed:\n{done.stderr}"
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["callable"] is True
    assert Path(report["file"]).resolve().is_relative_to(code_dir.resolve())
    assert Path(report["parley"]).resolve().is_relative_to(layer_dir.resolve())


def test_core_layer_ships_the_dashboards_page_assets_and_vendored_chart_js(
    layer_dir: Path,
) -> None:
    # parley.analytics.dashboard_api serves these files from the package; none is Python.
    source = REPO / "layers" / "core" / "parley" / "analytics" / "dashboard"
    built = layer_dir / "parley" / "analytics" / "dashboard"
    files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    assert "vendor/chart.umd.min.js" in files
    for name in files:
        assert (built / name).read_bytes() == (source / name).read_bytes(), name
