"""``python -m tests.support.event_file NAME [KEY=VALUE ...]``: tests/events/NAME.json with each
``{{KEY}}`` filled in, on stdout, for ``sam local invoke -e`` (the committed events carry no
token, which would expire: mint one with ``parley token``)."""

from __future__ import annotations

import json
import sys

from tests.support.lambdas import recorded_event

__all__ = ["main"]


def main(argv: list[str]) -> int:
    if not argv or any("=" not in pair for pair in argv[1:]):
        sys.stderr.write("usage: python -m tests.support.event_file NAME [KEY=VALUE ...]\n")
        return 2
    name, pairs = argv[0], argv[1:]
    values = dict(pair.split("=", 1) for pair in pairs)
    event = recorded_event(name, **values)
    if "{{" in json.dumps(event):
        sys.stderr.write(f"{name}.json has a {{{{KEY}}}} left: give it as KEY=VALUE\n")
        return 2
    sys.stdout.write(json.dumps(event, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
