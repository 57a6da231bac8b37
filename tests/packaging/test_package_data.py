"""An installed parley (a wheel, not the layer) carries the files it serves that are not
Python: pyproject.toml's package-data must name them, or `pip install` leaves them behind."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.build, pytest.mark.timeout(300)]

SOURCE = REPO / "layers" / "core" / "parley"


def test_the_wheel_ships_the_dashboards_page_assets_and_vendored_chart_js(
    tmp_path: Path,
) -> None:
    # A copy of what the build reads, so nothing (build/, *.egg-info) lands in the work tree.
    tree = tmp_path / "src"
    (tree / "layers" / "core").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "requirements-dev.txt"):
        shutil.copy(REPO / name, tree / name)
    shutil.copy(REPO / "layers" / "core" / "requirements.txt", tree / "layers" / "core")
    shutil.copytree(
        SOURCE, tree / "layers" / "core" / "parley", ignore=shutil.ignore_patterns("__pycache__")
    )
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    (wheel,) = tmp_path.glob("parley-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    dashboard = SOURCE / "analytics" / "dashboard"
    wanted = {
        f"parley/analytics/dashboard/{p.relative_to(dashboard).as_posix()}"
        for p in dashboard.rglob("*")
        if p.is_file()
    }
    assert "parley/analytics/dashboard/vendor/chart.umd.min.js" in wanted
    assert wanted <= shipped, sorted(wanted - shipped)
