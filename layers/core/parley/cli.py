"""The ``parley`` command: ``parley dev`` and ``parley token``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Both commands are local tools: development defaults unless the caller chose otherwise.
    # Set before anything reads the settings, which are read once per process.
    os.environ.setdefault("PARLEY_ENV", "development")
    from parley.errors import ParleyError

    try:
        return int(args.run(args))
    except ParleyError as exc:
        print(f"parley: {exc.message}", file=sys.stderr)  # noqa: T201
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parley", description="Parley's local tools.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run every function's routes locally")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.set_defaults(run=_dev)

    token = commands.add_parser("token", help="print a development token")
    token.add_argument("--user", required=True, help="the token's `sub`")
    token.add_argument("--org", default=None, help="the token's `org` (default: default)")
    token.add_argument("--scope", default="", help="space-separated scopes")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(run=_token)
    return parser


def _token(args: argparse.Namespace) -> int:
    from parley.auth import mint_token, resolve_jwt_secret
    from parley.config import get_settings

    settings = get_settings()
    print(  # noqa: T201
        mint_token(
            resolve_jwt_secret(settings),
            user_id=args.user,
            org_id=args.org,
            scopes=args.scope,
            ttl_seconds=args.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    return 0


def _dev(args: argparse.Namespace) -> int:
    from parley.devserver import serve

    serve(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
