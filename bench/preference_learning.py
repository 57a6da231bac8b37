"""How well the learn-preferences job recovers a simulated population's current preferences.

Run: ``.venv/bin/python bench/preference_learning.py [--users N] [--seed S]
[--population default|alternate] [--check]``. Prints JSON and writes it to
``bench/results/preference_learning.json`` (``preference_learning.<population>.json`` for a
population other than ``default``).

Method. Black-box, as a client: ``parley dev`` runs in its own process on 127.0.0.1 (its
embedded moto, the offline ``local`` model with no pause between words). A generator
(``generate``, pure and seeded; ``PopulationSpec`` holds its parameters, ``POPULATIONS`` the
presets) draws users of six kinds, each with a hidden current preference for every field of
the ``pictures`` panel:

* ``steady``: the same value each message, except a small share of random other options;
* ``noisy``: a favourite chosen only 40-50% of the time among 4-6 options;
* ``drifted``: one value for the first half of their messages, another (the current one) after;
* ``raters``: steady, and they rate replies: thumbs up on most, thumbs down on a noise pick;
* ``sparse``: steady, but only 3-8 messages;
* ``explicit``: sets one field with ``PUT /v1/preferences`` and keeps choosing other values for
  it (the explicit value must be kept), steady on the other fields.

Each user sends their messages (``POST /v1/chat/stream`` with ``panel: "pictures"`` and their
``choices``) in one conversation, rating replies (``POST /v1/feedback``) if they rate. Then
``parley jobs run learn-preferences`` runs once beside the server, and ``GET /v1/preferences``
of every user is compared with the truth: a field is right when the ``learned`` map holds it
and its value is the current preference (a default that happens to match does not count).

Figures: per kind, the share of users with every field right and the share per field;
calibration (learned fields by confidence band, share right); what sparse users were given;
explicit values kept. Targets: >= 90% of users with >= 20 messages fully right, drifted >= 80%,
no user with fewer than 8 messages above 0.8 confidence, every explicit value kept. The rule
is whatever the working tree holds; the report names the commit and whether
``parley/preferences`` had uncommitted changes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO))

from bench._results import publish  # noqa: E402

PANEL = "pictures"
ORG = "bench-population"
KINDS = ("steady", "noisy", "drifted", "raters", "sparse", "explicit")
# The pictures panel's fields and options when neither the API nor the panel declares options.
FALLBACK_OPTIONS: dict[str, tuple[str, ...]] = {
    "defaultStyle": (
        "modern",
        "watercolor",
        "ink",
        "photorealistic",
        "flat",
        "anime",
        "oil-painting",
        "pixel-art",
    ),
    "defaultProvider": (
        "flux",
        "dalle",
        "ideogram",
        "midjourney",
        "stable-diffusion",
        "imagen",
        "firefly",
        "leonardo",
    ),
}
# Confidence bands of the calibration; the first catches a rule that learns at 0.5 or below.
BANDS = ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0))
SUBJECTS = ("a lighthouse", "a fox", "a city at night", "a teapot", "mountains", "a robot")
CONCURRENCY = 4  # users chatting at once (each user's messages stay in order)


# --- The population -------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationSpec:
    """What a population is drawn from. Ranges are inclusive ``(low, high)``."""

    name: str
    mix: dict[str, float]  # kind -> share of the users
    messages: tuple[int, int]  # every kind but sparse
    sparse_messages: tuple[int, int]
    options: tuple[int, int]  # options a user picks among, per field (steady, drifted, ...)
    noise: float  # steady kinds: share of a field's picks that are another option
    noisy_options: tuple[int, int]
    noisy_share: tuple[float, float]  # the favourite's share for noisy users
    drift_at: tuple[float, float]  # where drifted users switch, as a share of their messages
    rater_up: float  # raters: share of their other replies they thumb up


POPULATIONS: dict[str, PopulationSpec] = {
    "default": PopulationSpec(
        name="default",
        mix={
            "steady": 0.25,
            "noisy": 0.15,
            "drifted": 0.15,
            "raters": 0.15,
            "sparse": 0.2,
            "explicit": 0.1,
        },
        messages=(20, 40),
        sparse_messages=(3, 8),
        options=(4, 6),
        noise=0.10,
        noisy_options=(4, 6),
        noisy_share=(0.40, 0.50),
        drift_at=(0.5, 0.5),
        rater_up=0.85,
    ),
    # Held out: more options, more noise, longer histories, a switch not at the middle.
    "alternate": PopulationSpec(
        name="alternate",
        mix={
            "steady": 0.2,
            "noisy": 0.2,
            "drifted": 0.2,
            "raters": 0.1,
            "sparse": 0.2,
            "explicit": 0.1,
        },
        messages=(24, 48),
        sparse_messages=(3, 7),
        options=(5, 8),
        noise=0.15,
        noisy_options=(5, 8),
        noisy_share=(0.45, 0.55),
        drift_at=(0.4, 0.6),
        rater_up=0.7,
    ),
}


@dataclass
class Message:
    choices: dict[str, str]
    noise: bool = False  # some field is not the preference of the moment
    thumbs: int | None = None  # the rating the user gives the reply, if any


@dataclass
class SimulatedUser:
    user_id: str
    kind: str
    truth: dict[str, str]  # the current preference per field (the explicit value included)
    messages: list[Message]
    explicit: dict[str, str] = field(default_factory=dict)  # set with PUT /v1/preferences


def allocate(users: int, mix: dict[str, float]) -> dict[str, int]:
    """Users per kind: at least one of each, the rest by largest remainder of the shares."""
    kinds = [kind for kind in KINDS if mix.get(kind, 0) > 0]
    if users < len(kinds):
        raise ValueError(f"{users} users cannot cover {len(kinds)} kinds")
    total = sum(mix[kind] for kind in kinds)
    spare = users - len(kinds)
    exact = {kind: spare * mix[kind] / total for kind in kinds}
    counts = {kind: 1 + int(exact[kind]) for kind in kinds}
    left = users - sum(counts.values())
    for kind in sorted(kinds, key=lambda k: (-(exact[k] - int(exact[k])), KINDS.index(k)))[:left]:
        counts[kind] += 1
    return counts


def generate(
    spec: PopulationSpec,
    users: int,
    seed: int,
    options: dict[str, tuple[str, ...]] = FALLBACK_OPTIONS,
) -> list[SimulatedUser]:
    """The population, the same for the same arguments. ``options``: field -> its options."""
    rng = random.Random(f"{spec.name}:{seed}")  # noqa: S311 (a simulation, not a secret)
    population: list[SimulatedUser] = []
    for kind, count in allocate(users, spec.mix).items():
        for index in range(count):
            user_id = f"{spec.name}-{kind}-{index}"
            population.append(_user(rng, spec, kind, user_id, options))
    rng.shuffle(population)  # kinds interleaved in the traffic
    return population


def _pool(rng: random.Random, options: tuple[str, ...], span: tuple[int, int]) -> list[str]:
    size = min(len(options), rng.randint(*span))
    return rng.sample(options, min(len(options), max(2, size)))


def _user(
    rng: random.Random,
    spec: PopulationSpec,
    kind: str,
    user_id: str,
    options: dict[str, tuple[str, ...]],
) -> SimulatedUser:
    fields = sorted(options)
    low, high = spec.sparse_messages if kind == "sparse" else spec.messages
    count = rng.randint(low, high)
    span = spec.noisy_options if kind == "noisy" else spec.options
    pools = {name: _pool(rng, options[name], span) for name in fields}
    truth = {name: pools[name][0] for name in fields}
    earlier = {name: pools[name][1] for name in fields}  # drifted: the value before the switch
    switch = round(count * rng.uniform(*spec.drift_at))
    favourite = {name: rng.uniform(*spec.noisy_share) for name in fields}
    explicit: dict[str, str] = {}
    against: dict[str, str] = {}
    if kind == "explicit":
        name = rng.choice(fields)
        explicit[name] = truth[name]
        against[name] = pools[name][1]  # what they keep choosing instead of the value they set

    messages = []
    for position in range(count):
        choices: dict[str, str] = {}
        noise = False
        for name in fields:
            pool = pools[name]
            if kind == "noisy":
                value = truth[name] if rng.random() < favourite[name] else rng.choice(pool[1:])
                noise = noise or value != truth[name]
            else:
                intended = truth[name]
                if kind == "drifted" and position < switch:
                    intended = earlier[name]
                if name in against:
                    intended = against[name]
                if rng.random() < spec.noise:
                    value = rng.choice([option for option in pool if option != intended])
                    noise = True
                else:
                    value = intended
            choices[name] = value
        thumbs = None
        if kind == "raters":
            thumbs = -1 if noise else (1 if rng.random() < spec.rater_up else None)
        messages.append(Message(choices, noise, thumbs))
    return SimulatedUser(user_id, kind, truth, messages, explicit)


# --- The panel's options --------------------------------------------------------------------


def _string_options(node: Any) -> list[str] | None:
    """An ``enum`` of strings (or ``options``) anywhere in a field's JSON schema."""
    if isinstance(node, dict):
        for key in ("enum", "options"):
            values = node.get(key)
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
                return list(values)
        children: list[Any] = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _string_options(child)
        if found:
            return found
    return None


def declared_options() -> tuple[dict[str, tuple[str, ...]], str]:
    """The pictures panel's fields and options, as ``parley.panels.models`` declares them if it
    declares any (some field without options: the fallback's for that field)."""
    try:
        from parley.panels.models import BUILTIN_PANELS

        schema = BUILTIN_PANELS[PANEL].model_json_schema()
    except Exception:  # noqa: BLE001 (a bench of another revision: fall back)
        return dict(FALLBACK_OPTIONS), "fallback"
    properties = schema.get("properties", {})
    found = {name: _string_options(properties[name]) for name in properties}
    if not any(found.values()):
        fields = {name: FALLBACK_OPTIONS.get(name) for name in properties}
        if all(fields.values()) and fields:
            return {k: tuple(v) for k, v in fields.items() if v}, "fallback"
        return dict(FALLBACK_OPTIONS), "fallback"
    options = {
        name: tuple(values) if values else FALLBACK_OPTIONS[name]
        for name, values in found.items()
        if values or name in FALLBACK_OPTIONS
    }
    return options, "panel declaration"


def api_options(document: dict[str, Any]) -> dict[str, tuple[str, ...]] | None:
    """The pictures panel's options as ``GET /v1/preferences`` lists them, if it does
    (``panels.pictures.fields.<field>.options``); None when it lists none."""
    panels = document.get("panels")
    panel = panels.get(PANEL) if isinstance(panels, dict) else None
    fields = panel.get("fields") if isinstance(panel, dict) else None
    if not isinstance(fields, dict):
        return None
    options = {}
    for name, declared in fields.items():
        values = declared.get("options") if isinstance(declared, dict) else declared
        strings = isinstance(values, list) and all(isinstance(v, str) for v in values)
        if strings and len(values) >= 2:
            options[name] = tuple(values)
        elif name in FALLBACK_OPTIONS:
            options[name] = FALLBACK_OPTIONS[name]
    return options or None


# --- parley dev, as a user runs it ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _parley(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "parley"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "parley.cli", *args]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AWS_"))}
    env.pop("UPSTASH_REDIS_REST_URL", None)
    return env


class DevServer:
    """``parley dev`` on a free loopback port; its stderr (banner, then errors) to a file."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        handle, name = tempfile.mkstemp(prefix="parley-bench-dev-", suffix=".log")
        os.close(handle)
        self.log = Path(name)
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(
                _parley("dev", "--host", "127.0.0.1", "--port", str(self.port)),
                cwd=REPO,
                env={**_clean_env(), "PARLEY_LOCAL_TOKEN_DELAY_SECONDS": "0"},
                stdout=subprocess.DEVNULL,
                stderr=sink,
                text=True,
            )
        try:
            self._wait(lambda: "curl" in self.log.read_text(), 60)
            self.banner = self.log.read_text()
            self._wait(self._answers, 30)
        except BaseException:
            self.stop()
            raise
        match = re.search(r"DynamoDB\s+(http://\S+)", self.banner)
        if not match:
            self.stop()
            raise RuntimeError(f"no DynamoDB endpoint in the banner:\n{self.banner}")
        self.dynamodb_endpoint = match.group(1)

    def _wait(self, ready: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"parley dev exited:\n{self.log.read_text()}")
            if ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"parley dev not ready within {timeout} s")

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code < 500
        except httpx.TransportError:
            return False

    def run_job(self, name: str) -> dict[str, Any]:
        done = subprocess.run(
            _parley("jobs", "run", name),
            cwd=REPO,
            env={**_clean_env(), "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"parley jobs run {name} failed:\n{done.stderr}")
        # The result is the last JSON document printed (indented); log lines may come before.
        lines = done.stdout.strip().splitlines()
        for start in range(len(lines) - 1, -1, -1):
            try:
                result = json.loads("\n".join(lines[start:]))
            except ValueError:
                continue
            if isinstance(result, dict):
                return result
        raise RuntimeError(f"no result from parley jobs run {name}:\n{done.stdout}")

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.unlink(missing_ok=True)
        return self.process.returncode


# --- Traffic --------------------------------------------------------------------------------


def bearer(user_id: str, scopes: str = "") -> dict[str, str]:
    from parley.auth import mint_token
    from parley.config import DEV_JWT_SECRET

    token = mint_token(DEV_JWT_SECRET, user_id=user_id, org_id=ORG, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def stream_chat(client: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> dict:
    """One chat stream read to its end: the ``meta`` and ``done`` events."""
    events: dict[str, dict[str, Any]] = {}
    with client.stream("POST", "/v1/chat/stream", json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"chat {response.status_code}: {response.read().decode()[:300]}")
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event.get("type") in ("meta", "done", "error"):
                    events[event["type"]] = event
    if "error" in events or "done" not in events:
        raise RuntimeError(f"chat stream did not finish: {events}")
    return events


def simulate(url: str, user: SimulatedUser) -> dict[str, int]:
    """The user's explicit preference, messages and ratings; what was sent."""
    headers = bearer(user.user_id)
    sent = {"chats": 0, "feedback": 0}
    with httpx.Client(base_url=url, timeout=60) as client:
        if user.explicit:
            response = client.put(
                "/v1/preferences", headers=headers, json={"preferences": {PANEL: user.explicit}}
            )
            if response.status_code != 200:
                raise RuntimeError(f"PUT /v1/preferences {response.status_code}: {response.text}")
        conversation = None
        for position, message in enumerate(user.messages):
            body: dict[str, Any] = {
                "message": f"A picture of {SUBJECTS[position % len(SUBJECTS)]}, please",
                "panel": PANEL,
                "choices": message.choices,
            }
            if conversation:
                body["conversation_id"] = conversation
            events = stream_chat(client, headers, body)
            conversation = events["meta"]["conversation_id"]
            sent["chats"] += 1
            if message.thumbs is not None:
                rated = client.post(
                    "/v1/feedback",
                    headers=headers,
                    json={
                        "message_id": events["done"]["message_id"],
                        "conversation_id": conversation,
                        "thumbs": message.thumbs,
                    },
                )
                if rated.status_code != 201:
                    raise RuntimeError(f"feedback {rated.status_code}: {rated.text}")
                sent["feedback"] += 1
    return sent


# --- Scoring --------------------------------------------------------------------------------


def _confidence(entry: Any) -> float | None:
    """A ``learned`` entry's confidence: a number, or an object carrying one."""
    if isinstance(entry, dict):
        entry = entry.get("confidence")
    if isinstance(entry, int | float) and not isinstance(entry, bool):
        return float(entry)
    return None


def judge(user: SimulatedUser, document: dict[str, Any]) -> dict[str, Any]:
    """Per field: learned with which confidence, right or not; the explicit field kept or not."""
    values = document.get("preferences", {}).get(PANEL, {})
    learned = document.get("learned", {})
    sources = document.get("sources", {})
    fields: dict[str, Any] = {}
    for name, truth in user.truth.items():
        path = f"{PANEL}.{name}"
        confidence = _confidence(learned.get(path))
        value = values.get(name)
        if name in user.explicit:
            right = value == truth and sources.get(path, "user") == "user"
            fields[name] = {"explicit": True, "kept": right, "value": value}
        else:
            right = confidence is not None and value == truth
            fields[name] = {"explicit": False, "confidence": confidence, "value": value}
        fields[name]["right"] = right
    learned_confidences = [
        c for path, entry in learned.items() if (c := _confidence(entry)) is not None
    ]
    return {
        "user": user.user_id,
        "kind": user.kind,
        "messages": len(user.messages),
        "truth": user.truth,
        "fields": fields,
        "fully_right": all(entry["right"] for entry in fields.values()),
        "max_confidence": max(learned_confidences, default=None),
    }


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def summarise(judged: list[dict[str, Any]], fields: list[str]) -> dict[str, Any]:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in judged:
        by_kind[entry["kind"]].append(entry)
    accuracy = {}
    for kind in KINDS:
        entries = by_kind.get(kind, [])
        accuracy[kind] = {
            "users": len(entries),
            "fully_right": _share(sum(e["fully_right"] for e in entries), len(entries)),
            "per_field": {
                name: _share(sum(e["fields"][name]["right"] for e in entries), len(entries))
                for name in fields
            },
        }

    calibration = {}
    for low, high in BANDS:
        inside = [
            entry
            for user in judged
            for entry in user["fields"].values()
            if entry.get("confidence") is not None
            and low <= entry["confidence"] < high + (1e-9 if high == 1.0 else 0)
        ]
        calibration[f"{low:.1f}-{high:.1f}"] = {
            "learned": len(inside),
            "right": _share(sum(e["right"] for e in inside), len(inside)),
        }

    sparse = by_kind.get("sparse", [])
    sparse_fields = [entry for user in sparse for entry in user["fields"].values()]
    learned_sparse = [e for e in sparse_fields if e.get("confidence") is not None]
    sparse_report = {
        "users": len(sparse),
        "messages": sorted(user["messages"] for user in sparse),
        "max_confidence": max((e["confidence"] for e in learned_sparse), default=None),
        "fields_learned": _share(len(learned_sparse), len(sparse_fields)),
        "fields_right": _share(sum(e["right"] for e in sparse_fields), len(sparse_fields)),
    }

    explicit_fields = [
        entry for user in judged for entry in user["fields"].values() if entry["explicit"]
    ]
    explicit_report = {
        "fields": len(explicit_fields),
        "kept": sum(entry["kept"] for entry in explicit_fields),
    }

    long_users = [entry for entry in judged if entry["messages"] >= 20]
    short_users = [entry for entry in judged if entry["messages"] < 8]
    over = [
        entry["user"]
        for entry in short_users
        if entry["max_confidence"] is not None and entry["max_confidence"] > 0.8
    ]
    long_share = _share(sum(e["fully_right"] for e in long_users), len(long_users))
    drifted_share = accuracy["drifted"]["fully_right"]
    targets = {
        "long_users_fully_right": {
            "target": ">= 0.9 of users with >= 20 messages",
            "users": len(long_users),
            "value": long_share,
            "met": long_share is not None and long_share >= 0.9,
        },
        "drifted_fully_right": {
            "target": ">= 0.8",
            "value": drifted_share,
            "met": drifted_share is not None and drifted_share >= 0.8,
        },
        "short_users_over_0_8": {
            "target": "none of the users with < 8 messages above 0.8 confidence",
            "users": len(short_users),
            "value": len(over),
            "which": over,
            "met": not over,
        },
        "explicit_kept": {
            "target": "all",
            "value": f"{explicit_report['kept']}/{explicit_report['fields']}",
            "met": explicit_report["kept"] == explicit_report["fields"],
        },
    }
    return {
        "accuracy": accuracy,
        "overall_fully_right": _share(sum(e["fully_right"] for e in judged), len(judged)),
        "calibration": calibration,
        "sparse": sparse_report,
        "explicit": explicit_report,
        "targets": targets,
        "targets_met": all(target["met"] for target in targets.values()),
    }


# --- Run ------------------------------------------------------------------------------------


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip()


RULE_PATHS = ("layers/core/parley/preferences", "layers/core/parley/panels")


def rule_revision() -> dict[str, Any]:
    """The commit the rule (learning, job, panels) was last changed in, and whether the working
    tree differs from it: the server runs the working tree, uncommitted changes included."""
    diff = _git("diff", "HEAD", "--", *RULE_PATHS)
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "rule_commit": _git("log", "-1", "--format=%h", "--", *RULE_PATHS),
        "rule_uncommitted_changes": bool(diff),
        "rule_diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff else None,  # noqa: S324
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=80, help="6-200 (default 80)")
    parser.add_argument("--seed", type=int, default=14, help="0-1000000 (default 14)")
    parser.add_argument("--population", choices=sorted(POPULATIONS), default="default")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if not len(KINDS) <= args.users <= 200 or not 0 <= args.seed <= 1_000_000:
        parser.error("--users is 6-200 and --seed 0-1000000")
    spec = POPULATIONS[args.population]

    rule = rule_revision()  # what `parley dev` and the job are about to import
    options, options_source = declared_options()
    started = time.perf_counter()
    server = DevServer()
    try:
        admin = bearer("bench-admin", "org:manage")
        patched = httpx.patch(
            f"{server.url}/v1/org/settings",
            headers={**admin, "Content-Type": "application/merge-patch+json"},
            content=json.dumps({"rate_limits": {"user_per_minute": 100_000}}),
            timeout=30,
        )
        if patched.status_code != 200:
            raise RuntimeError(f"PATCH /v1/org/settings {patched.status_code}: {patched.text}")
        listed = httpx.get(f"{server.url}/v1/preferences", headers=bearer("bench-probe"))
        listed.raise_for_status()
        from_api = api_options(listed.json())
        if from_api:
            options, options_source = from_api, "GET /v1/preferences"
        population = generate(spec, args.users, args.seed, options)

        traffic_start = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            sent = list(pool.map(lambda user: simulate(server.url, user), population))
        traffic_seconds = time.perf_counter() - traffic_start

        job_start = time.perf_counter()
        job = server.run_job("learn-preferences")
        job_seconds = time.perf_counter() - job_start

        judged = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for user in population:
                response = client.get("/v1/preferences", headers=bearer(user.user_id))
                response.raise_for_status()
                judged.append(judge(user, response.json()))
        errors = server.log.read_text()[len(server.banner) :].strip()
    finally:
        exit_code = server.stop()

    fields = sorted(options)
    chats = sum(s["chats"] for s in sent)
    summary = summarise(judged, fields)
    report = {
        "metadata": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            **rule,
            "rule_changed_during_run": rule != rule_revision(),
            "population": spec.name,
            "spec": {key: value for key, value in spec.__dict__.items() if key != "name"},
            "users": len(population),
            "seed": args.seed,
            "panel": PANEL,
            "options": {name: list(values) for name, values in options.items()},
            "options_source": options_source,
            "chats": chats,
            "feedback": sum(s["feedback"] for s in sent),
            "traffic_seconds": round(traffic_seconds, 1),
            "job_seconds": round(job_seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "server_exit": exit_code,
            "server_errors": errors[-2000:] or None,
            "method": "see bench/preference_learning.py's docstring",
        },
        "job": job,
        **summary,
        # Every user not fully right, with what they were given: where the rule goes wrong.
        "misses": [entry for entry in judged if not entry["fully_right"]],
    }
    name = "preference_learning.json"
    if spec.name != "default":
        name = f"preference_learning.{spec.name}.json"
    publish(report, RESULTS / name)
    print(
        "targets: "
        + "; ".join(
            f"{key} {target['value']} ({target['target']}): {'met' if target['met'] else 'MISSED'}"
            for key, target in summary["targets"].items()
        ),
        file=sys.stderr,
    )
    return 1 if args.check and not summary["targets_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
