"""The learn-preferences job's cost per user, against the reads it cannot do without.

Run: ``.venv/bin/python bench/learn_preferences.py [--users N] [--turns N]``. Prints JSON and
writes it to ``bench/results/learn_preferences.json``.

Method. A moto server (its own process, lean transactions: see ``_moto_lean.py``) gets the
template's tables and ``--users`` users, each with one conversation of ``--turns`` turns: a
user message with a pictures panel and choices (most of them one style) and the reply, every
third reply liked. Then, in this process, against the same data:

* ``baseline``: for each user, the two reads no learning job can skip, done the cheapest way:
  one Query of their conversation's messages (the newest two per turn) and one GetItem of their
  preferences item. It knows where everything is; the job has to find it.
* ``job``: ``LearnPreferencesJob.run`` over every shard (the first run of the hour: it learns
  and writes every user), then ``job_again``: the same hour again through the job's own
  reads with nothing left to change (what every later hour costs a user who did nothing new).

Each is timed wall-clock, and every DynamoDB call is counted by operation. The figures that
matter are the ratios (job ÷ baseline, same run, same moto) and the calls per user: moto's
own speed is not DynamoDB's, but the number of round trips is the same on both.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "learn_preferences.json"
sys.path.insert(0, str(REPO))

from bench._processes import moto_server  # noqa: E402
from bench._results import publish  # noqa: E402

STYLES = ("watercolor", "watercolor", "watercolor", "ink", "watercolor")


class CountingClient:
    """A DynamoDB client that counts its calls by operation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_paginator"):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attribute(*args, **kwargs)

        return counted


def seed(settings: Any, client: Any, users: int, turns: int) -> list[tuple[str, str, str]]:
    """Each user's (org, user, conversation), after writing them as the chat pipeline does."""
    from parley.auth.identity import Identity
    from parley.state.conversations import ConversationRepository
    from parley.state.items import to_item

    conversations = ConversationRepository(settings.conversations_table, client=client)
    seeded = []
    for index in range(users):
        owner = Identity(user_id=f"user-{index}", org_id=f"org-{index % 5}")
        conversation = conversations.create(owner)
        for turn in range(turns):
            conversations.add_message(
                owner,
                conversation.id,
                role="user",
                content="Another picture, please",
                metadata={
                    "panel": "pictures",
                    "choices": {"defaultStyle": STYLES[turn % len(STYLES)]},
                },
            )
            reply = conversations.add_message(
                owner, conversation.id, role="assistant", content="Here it is."
            )
            if turn % 3 == 0:
                client.update_item(
                    TableName=settings.conversations_table,
                    Key=to_item({"pk": f"CONV#{conversation.id}", "sk": f"MSG#{reply.id}"}),
                    UpdateExpression="SET feedback = :f",
                    ExpressionAttributeValues=to_item(
                        {":f": {"feedback_id": f"f-{index}-{turn}", "thumbs": 1}}
                    ),
                )
        seeded.append((owner.org_id, owner.user_id, conversation.id))
    return seeded


def baseline(
    settings: Any, client: CountingClient, seeded: list[tuple[str, str, str]], turns: int
) -> float:
    from parley.preferences.repository import PreferencesRepository

    preferences = PreferencesRepository(settings.accounts_table, client=client)  # type: ignore[arg-type]
    start = time.perf_counter()
    for org_id, user_id, conversation_id in seeded:
        client.query(
            TableName=settings.conversations_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :msg)",
            ExpressionAttributeValues={
                ":pk": {"S": f"CONV#{conversation_id}"},
                ":msg": {"S": "MSG#"},
            },
            ScanIndexForward=False,
            Limit=2 * turns,
        )
        preferences.get(org_id, user_id)
    return time.perf_counter() - start


def run_job(settings: Any, client: CountingClient, run_id: str) -> tuple[float, dict[str, Any]]:
    from parley.preferences.job import LearnPreferencesJob

    job = LearnPreferencesJob(
        settings.conversations_table,
        settings.accounts_table,
        client=client,  # type: ignore[arg-type]
    )
    start = time.perf_counter()
    result = job.run(run_id=run_id, deadline=None)
    return time.perf_counter() - start, dict(result)


def measured(seconds: float, calls: Counter[str], users: int) -> dict[str, Any]:
    return {
        "seconds": round(seconds, 3),
        "ms_per_user": round(seconds * 1000 / users, 2),
        "calls_per_user": {name: round(count / users, 2) for name, count in sorted(calls.items())},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    if not 1 <= args.users <= 2000 or not 1 <= args.turns <= 100:
        parser.error("--users is 1-2000 and --turns 1-100")

    with moto_server(lean_transactions=True) as (endpoint, _pid):
        os.environ.update(
            {
                "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "PARLEY_ENV": "development",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        from parley.config import Settings
        from parley.state.client import new_dynamodb_client

        settings = Settings()
        raw = new_dynamodb_client(settings.aws_region, 10.0)
        seeded = seed(settings, raw, args.users, args.turns)

        base_client = CountingClient(raw)
        base_seconds = baseline(settings, base_client, seeded, args.turns)
        first_client = CountingClient(raw)
        first_seconds, first = run_job(settings, first_client, "bench#1")
        again_client = CountingClient(raw)
        again_seconds, again = run_job(settings, again_client, "bench#2")

    if first["updated"] != args.users or again["updated"] != 0:
        print(f"unexpected counts: {first} then {again}", file=sys.stderr)
        return 1
    users = args.users
    report = {
        "metadata": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "users": users,
            "turns_per_user": args.turns,
            "dynamodb": "moto, lean transactions, its own process",
            "method": "see bench/learn_preferences.py's docstring",
        },
        "baseline": measured(base_seconds, base_client.calls, users),
        "job": {**measured(first_seconds, first_client.calls, users), "result": first},
        "job_again": {**measured(again_seconds, again_client.calls, users), "result": again},
        "ratios": {
            "job_vs_baseline": round(first_seconds / base_seconds, 2),
            "job_again_vs_baseline": round(again_seconds / base_seconds, 2),
        },
    }
    return publish(report, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
