"""Render infra/dashboard.json into template.yaml's OperationsDashboard (``make dashboard``).

The dashboard is kept as a JSON file so that it can be read, diffed and pasted into the
CloudWatch console; the template holds it as the ``Fn::Sub`` string CloudFormation needs, one
widget a line. ``${AWS::Region}``, ``${ChatFunction}``, ``${HotTable}``, ``${X.Arn}`` in the
file are substitutions CloudFormation makes at deploy time. tests/unit/test_dashboard.py fails
when the two disagree, so an edit of one without the other does not land.

    python infra/render_dashboard.py          # rewrite template.yaml's DashboardBody
    python infra/render_dashboard.py --check  # exit 1 when template.yaml is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "infra" / "dashboard.json"
TEMPLATE = ROOT / "template.yaml"
# The line the rendered body follows; the body is the block indented under it.
MARKER = "      DashboardBody: !Sub |"
INDENT = " " * 8


def rendered_body(dashboard: dict[str, object]) -> list[str]:
    """The block's lines: valid JSON before substitution (the test parses it back)."""
    widgets = dashboard["widgets"]
    assert isinstance(widgets, list)
    lines = [INDENT + '{"widgets": [']
    for index, widget in enumerate(widgets):
        comma = "," if index < len(widgets) - 1 else ""
        lines.append(INDENT + "  " + json.dumps(widget, separators=(",", ":")) + comma)
    lines.append(INDENT + "]}")
    return lines


def render(template: str, dashboard: dict[str, object]) -> str:
    lines = template.split("\n")
    start = lines.index(MARKER) + 1
    end = start
    while end < len(lines) and lines[end].startswith(INDENT):
        end += 1
    return "\n".join([*lines[:start], *rendered_body(dashboard), *lines[end:]])


def main(argv: list[str]) -> int:
    current = TEMPLATE.read_text()
    wanted = render(current, json.loads(DASHBOARD.read_text()))
    if "--check" in argv:
        if current != wanted:
            sys.stderr.write(
                "template.yaml's dashboard is not infra/dashboard.json: run make dashboard\n"
            )
            return 1
        return 0
    TEMPLATE.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
