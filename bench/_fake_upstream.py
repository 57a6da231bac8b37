"""Run the tests' fake upstream as its own process for the benchmarks.

    python bench/_fake_upstream.py --chunks 20 --chunk-delay 0.005 --first-delay 0.05 MODEL...

Prints the server's URL on one line, then serves every named model with the same script
until stdin closes (the benchmark owns the process and ends it by closing the pipe).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.upstreams import FakeUpstream, Script


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--chunk-delay", type=float, default=0.005)
    parser.add_argument("--first-delay", type=float, default=0.05)
    args = parser.parse_args()
    fake = FakeUpstream().start()
    script = Script(
        chunks=[f"token{index} " for index in range(args.chunks)],
        first_chunk_delay=args.first_delay,
        chunk_delay=args.chunk_delay,
        usage=(50, args.chunks),
    )
    for model in args.models:
        fake.script(model, script)
    print(fake.url, flush=True)
    sys.stdin.read()  # until the benchmark closes the pipe
    fake.stop()


if __name__ == "__main__":
    main()
