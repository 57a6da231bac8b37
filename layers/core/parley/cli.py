"""The ``parley`` command: ``parley dev``, ``parley token`` and the operator's ``parley org``,
``parley jobs`` and ``parley health``.

This module only parses: each command's work lives in the library module it belongs to.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    Command = Callable[[argparse.Namespace], int]

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
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 (a command answers in one line, never a traceback)
        # What is known is translated into a ParleyError where it happens; this is the rest.
        print(f"parley: {type(exc).__name__}: {exc}", file=sys.stderr)  # noqa: T201
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parley", description="Parley's local tools.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run every function's routes locally")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.set_defaults(run=_dev)

    token = commands.add_parser("token", help="print a development token")
    token.add_argument("--user", required=True, type=_non_empty, help="the token's `sub`")
    token.add_argument("--org", default=None, help="the token's `org` (default: default)")
    token.add_argument("--scope", default="", help="space-separated scopes")
    token.add_argument("--ttl", type=_positive_int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(run=_token)

    _org_commands(commands)
    _export_commands(commands)
    _jobs_commands(commands)
    _health_commands(commands)
    _eval_commands(commands)
    return parser


def _non_empty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return number


def _org_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    org = commands.add_parser(
        "org",
        help="an org's settings and token balance (operator; uses the AWS credentials)",
        description="Act on one org in the AccountsTable (PARLEY_ACCOUNTS_TABLE), at the "
        "DynamoDB endpoint the environment configures. Output is JSON.",
    )
    actions = org.add_subparsers(required=True, metavar="ACTION")

    def action(name: str, help_text: str, run: Command) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("--org", required=True, help="the org id (a token's `org`)")
        parser.set_defaults(run=run)
        return parser

    action("show", "print the effective settings, overrides and version", _org_show)
    changed = action("set", "change settings with a JSON merge patch", _org_set)
    changed.add_argument(
        "--json",
        required=True,
        dest="patch",
        metavar="JSON",
        help='e.g. \'{"rate_limits": {"user_per_minute": 50}}\'; null restores a default',
    )
    reset = action("reset", "return every setting to its default", _org_reset)
    for parser in (changed, reset):
        parser.add_argument(
            "--if-version",
            type=int,
            default=None,
            metavar="N",
            help="refuse unless the settings are still at this version (from `show`)",
        )
    grant = action("grant", "add tokens to the balance (creating it meters the org)", _org_grant)
    grant.add_argument(
        "--tokens", type=int, required=True, metavar="N", help="how many tokens to add"
    )
    action("balance", "print the token balance (null: unmetered)", _org_balance)


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


def _org_show(args: argparse.Namespace) -> int:
    from parley.config import get_settings
    from parley.orgs import admin

    return _print_json(admin.show(get_settings(), args.org))


def _org_set(args: argparse.Namespace) -> int:
    from parley.config import get_settings
    from parley.orgs import admin

    return _print_json(
        admin.set_settings(get_settings(), args.org, args.patch, expected_version=args.if_version)
    )


def _org_reset(args: argparse.Namespace) -> int:
    from parley.config import get_settings
    from parley.orgs import admin

    return _print_json(
        admin.reset_settings(get_settings(), args.org, expected_version=args.if_version)
    )


def _org_grant(args: argparse.Namespace) -> int:
    from parley.budget import admin
    from parley.config import get_settings

    return _print_json(admin.grant_tokens(get_settings(), args.org, args.tokens))


def _org_balance(args: argparse.Namespace) -> int:
    from parley.budget import admin
    from parley.config import get_settings

    return _print_json(admin.org_balance(get_settings(), args.org))


def _jobs_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from parley.jobs.registry import JOBS

    jobs = commands.add_parser(
        "jobs",
        help="scheduled jobs (uses the AWS credentials)",
        description="Run a scheduled job once, to its end, at the DynamoDB endpoint the "
        "environment configures. Prints the result as JSON. See docs/operations.md.",
    )
    actions = jobs.add_subparsers(required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run one job once for an hour")
    run.add_argument("name", choices=sorted(JOBS), help="the job")
    run.add_argument(
        "--hour",
        default=None,
        metavar="YYYY-MM-DDTHH",
        help="the UTC hour to run for (default: now; aggregate-usage recomputes that hour so "
        "far and the three before it); a second run for one hour prints the first one's result",
    )
    run.add_argument(
        "--shard",
        type=int,
        action="append",
        dest="shards",
        metavar="N",
        help="only this shard (repeatable; default: all): of the activity index for "
        "learn-preferences, of the hour index for aggregate-usage",
    )
    run.set_defaults(run=_jobs_run)


def _jobs_run(args: argparse.Namespace) -> int:
    from parley.apps.jobs import run_locally
    from parley.config import get_settings
    from parley.jobs.request import parse_hour

    hour = parse_hour(args.hour) if args.hour else None
    return _print_json(
        run_locally(args.name, settings=get_settings(), scheduled_time=hour, shards=args.shards)
    )


def _health_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = commands.add_parser(
        "health",
        help="the providers' health records; reset a model's (operator; uses the AWS credentials)",
        description="Print the provider-health job's records of one hour (the newest by "
        "default) from the AnalyticsTable (PARLEY_ANALYTICS_TABLE), at the DynamoDB endpoint "
        "the environment configures: a table, or JSON with --json.",
    )
    health.add_argument("--hour", default=None, metavar="YYYY-MM-DDTHH", help="a reported UTC hour")
    health.add_argument("--json", action="store_true", help="print the records as JSON")
    health.set_defaults(run=_health_show)
    actions = health.add_subparsers(metavar="ACTION")
    reset = actions.add_parser(
        "reset",
        help="close a model's circuit breaker and restart its health window (audited)",
        description="Acts on the deployment's hot store (PARLEY_HOT_BACKEND dynamodb or "
        "upstash); audited as PARLEY_OPERATOR, else the OS user. Prints the audit entry.",
    )
    reset.add_argument("model", type=_non_empty, help="the catalog model's name")
    reset.set_defaults(run=_health_reset)


def _health_show(args: argparse.Namespace) -> int:
    from parley.config import get_settings
    from parley.operations.health import admin
    from parley.operations.health.view import health_table

    document = admin.show(get_settings(), hour=args.hour)
    if args.json:
        return _print_json(document)
    print(health_table(document))  # noqa: T201
    return 0


def _health_reset(args: argparse.Namespace) -> int:
    from parley.config import get_settings
    from parley.operations.health import admin

    return _print_json(admin.reset(get_settings(), args.model))


def _eval_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="evaluate a capability on labelled data (offline, no AWS)",
        description="Run a capability over labelled data and print its figures.",
    )
    kinds = evaluate.add_subparsers(required=True, metavar="WHAT")
    guardrails = kinds.add_parser(
        "guardrails",
        help="the crisis classifier's offline path: prefilter, then the offline classifier",
        description="Recall, precision and false-positive rate per case and per stage, for each "
        "labelled set on its own. Default: tests/data/guardrails/development.jsonl and "
        "holdout.jsonl under the current directory.",
    )
    guardrails.add_argument(
        "--data",
        action="append",
        dest="data",
        metavar="PATH",
        help="a labelled JSONL set (repeatable)",
    )
    guardrails.add_argument(
        "--model",
        default=None,
        help="also judge the flagged messages with this catalog model as the chat does "
        "(its API key configured)",
    )
    guardrails.add_argument("--json", action="store_true", help="print the report as JSON")
    guardrails.set_defaults(run=_eval_guardrails)


def _eval_guardrails(args: argparse.Namespace) -> int:
    from pathlib import Path

    from parley.guardrails.evaluation import default_sets, evaluate, format_report

    paths = [Path(path) for path in args.data] if args.data else default_sets(Path.cwd())
    if args.model is None:
        report = evaluate(paths)
    else:
        from parley.apps.guardrails_eval import model_second_stage

        with model_second_stage(args.model) as second_stage:
            report = evaluate(paths, second_stage)
    if args.json:
        return _print_json(report)
    print(format_report(report))  # noqa: T201
    return 0


def _export_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="export data (operator; uses the AWS credentials)",
        description="Read the FeedbackTable (PARLEY_FEEDBACK_TABLE) at the DynamoDB endpoint "
        "the environment configures.",
    )
    kinds = export.add_subparsers(required=True, metavar="WHAT")
    training = kinds.add_parser(
        "training-data",
        help="approved corrections and 5-rated exchanges as fine-tuning JSONL",
        description="Writes <out>/<format>/train.jsonl and validation.jsonl (a deterministic "
        "80/20 split) and prints a JSON summary of the counts.",
    )
    training.add_argument("--org", required=True, help="the org id (a token's `org`)")
    training.add_argument(
        "--format", choices=("openai", "gemini", "both"), default="both", dest="format_name"
    )
    training.add_argument("--out", default="training-data", metavar="DIR")
    training.add_argument(
        "--min-quality",
        type=int,
        choices=range(6),
        default=3,
        metavar="N",
        help="least quality (0-5) of an approved correction (default 3)",
    )
    training.add_argument(
        "--system-prompt", default=None, help="a system message for every example"
    )
    training.set_defaults(run=_export_training_data)


def _export_training_data(args: argparse.Namespace) -> int:
    from pathlib import Path

    from parley.config import get_settings
    from parley.feedback.export import export_training_data
    from parley.feedback.formats import formats_named

    formats = formats_named(args.format_name)
    return _print_json(
        export_training_data(
            get_settings(),
            args.org,
            out_dir=Path(args.out),
            formats=formats,
            min_quality=args.min_quality,
            system_prompt=args.system_prompt,
        )
    )


def _print_json(document: object) -> int:
    print(json.dumps(document, indent=2))  # noqa: T201
    return 0


def _dev(args: argparse.Namespace) -> int:
    from parley.apps.dev.server import serve

    serve(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
