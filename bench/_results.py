"""What every benchmark does with its figures: prints them as JSON, and keeps them in
bench/results/ for the README and the next run to compare with."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


def publish(report: Any, path: Path) -> int:
    """Print ``report`` as JSON and write it to ``path``; 0, a benchmark's exit status."""
    text = json.dumps(report, indent=2)
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return 0
