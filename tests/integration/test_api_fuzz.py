"""The whole API under a property-based fuzzer (issue 11): schemathesis generates requests for
every operation of the development server's OpenAPI document (every function's routes in one
app, in-process, on moto tables made from template.yaml), valid and invalid, and every
response must hold:

- no 500: a 5xx is only ever 502/503/504 (a dependency Parley cannot fix: here, a model
  without a key) and then in the error shape;
- every non-2xx answer is the JSON error body, ``{"error": {"code", "message", "retryable"}}``;
- an event stream keeps the protocol (docs/sse-protocol.md): no ``internal_error`` event; the
  chat stream is ``meta`` first and exactly one ``done`` or ``error`` last; the
  OpenAI-compatible stream ends with ``[DONE]`` or an error;
- a request without a valid token is 401 on every route that needs one;
- what a write accepted (org settings, preferences) never breaks a later read or chat.

Three tests. The first is schemathesis as it comes: its coverage phase (boundary and invalid
values per parameter) and its fuzzing phase, positive and negative. The second sends what a
JSON schema cannot describe but clients do send: lone surrogates (as the ``\\ud800`` escape),
``NaN``/``Infinity``, numbers and strings DynamoDB cannot store, wrong types and extra fields
put into bodies that are otherwise valid, malformed bytes, query values at the edges of their
types, page cursors whose attributes have the wrong type, and missing, forged or expired
tokens. The third puts every one of the hostile values at every free-form field of every write,
and reports all that fail at once (a Hypothesis test stops at its first failure).

The tests' moto refuses the numbers DynamoDB refuses (parley.apps.dev.localdb): moto as it
ships stores 1e300 and 40-digit integers, so a value production cannot store would pass here.

Deterministic: Hypothesis is derandomized (the examples depend on the code alone), with no
example database and no deadline; examples per operation are bounded (about a minute and a
quarter in all on two cores). Failures say what was sent, what came back and the server's
traceback. ``FUZZ_MAX_EXAMPLES=500`` digs deeper by hand.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hypothesis
import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.core import NotSet
from schemathesis.errors import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from parley.auth import mint_token
from parley.config import DEV_JWT_SECRET
from parley.feedback.keys import corrections_key, day_pk
from parley.state.conversation_keys import owner_key
from tests.support.api import (
    build_dev_app,
    dev_app_document,
    parse_event_stream,
    response_problems,
    server_errors,
    token,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI
    from schemathesis import Case

    from parley.config import Settings
    from tests.support.api import ServerErrors

USER, ORG = "fuzz-user", "fuzz-org"
# Examples per operation and test (the coverage phase adds its own, a few dozen per operation);
# three times as many where a request runs the most code, or takes a page cursor or a range.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
DEEP = [
    "POST /v1/chat/stream",
    "POST /v1/chat/completions",
    "PATCH /v1/org/settings",
    "PUT /v1/preferences",
    "GET /v1/conversations",
    "GET /v1/feedback",
    "GET /v1/feedback/analytics",
    "GET /v1/corrections",
]

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # The token is the test's to choose (a valid one, or none, or a forged one).
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": False},
            "stateful": {"enabled": False},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
        },
        "operations": [
            {"include-name": DEEP, "generation": {"max-examples": 3 * MAX_EXAMPLES}},
        ],
        # A chat answer is about 60 events; every stream must be read to its end.
        "max-stream-events": 10_000,
        "request-timeout": 30,
    }
)
# The app and its tables are made once per operation and kept for all its examples (state
# builds up, as in a real deployment); examples may be large and slow (900 KB bodies).
QUIET_HEALTH_CHECKS = hypothesis.settings(
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ]
)


# What was wrong, by kind: Hypothesis tells failures apart by exception type, so failures of
# different kinds that it meets for one operation are each reported, not merged into one.
class ApiFailure(AssertionError):
    pass


class ServerError(ApiFailure):
    """A 500 (or another 5xx that is not a dependency's)."""


class NotAnErrorBody(ApiFailure):
    """A refusal that is not the JSON error body."""


class BrokenStream(ApiFailure):
    """An event stream out of protocol, or carrying internal_error."""


class AuthNotEnforced(ApiFailure):
    """A request without a valid token that was not refused with 401."""


class WriteBrokeLaterCalls(ApiFailure):
    """Something a write accepted made a later read or chat fail."""


class NotAsDocumented(ApiFailure):
    """A 2xx body that is not what the OpenAPI document says."""


def _kind(problem: str) -> type[ApiFailure]:
    if problem.startswith("status "):
        return ServerError
    if "stream" in problem or "event" in problem:
        return BrokenStream
    return NotAnErrorBody


@dataclass
class FuzzApi:
    """The app under test, and real records of the fuzzing user for the fuzzer to point at."""

    app: FastAPI
    document: dict[str, Any]
    client: asgi.ASGIClient
    errors: ServerErrors
    token: str = field(default_factory=lambda: token(USER, ORG))
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, body: Any = None) -> Any:
        response = self.client.request(
            method, path, json=body, headers=self.headers, timeout=30, allow_redirects=False
        )
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response

    def chat(self, message: str) -> list[dict[str, Any]]:
        response = self.request("POST", "/v1/chat/stream", {"message": message})
        events: list[dict[str, Any]] = parse_event_stream(response.content)
        assert events[-1]["type"] == "done", events
        return events

    def prepare(self) -> None:
        # Rate limits off: every example should reach the handler, not a 429.
        self.request("PATCH", "/v1/org/settings", {"rate_limits": {"user_per_minute": 0}})
        for n in range(3):
            meta = self.chat(f"Seed question {n}: which image model for a watercolour?")[0]
        self.ids["conversation_id"] = meta["conversation_id"]
        self.ids["message_id"] = meta["message_id"]
        rating = {"message_id": meta["message_id"], "conversation_id": meta["conversation_id"]}
        self.request("POST", "/v1/feedback", {**rating, "thumbs": 1})
        correction = self.request(
            "POST",
            "/v1/corrections",
            {
                "prompt": "Which image model?",
                "original_reply": "Any.",
                "corrected_reply": "FLUX Pro, for watercolours.",
                "reason": "Too vague",
                "category": "accuracy",
            },
        ).json()
        self.ids["correction_id"] = correction["correction_id"]

    def secured(self, case: Case) -> bool:
        operation = self.document["paths"][case.path][case.method.lower()]
        return bool(operation.get("security"))


@pytest.fixture
def fuzz_api(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FuzzApi]:
    app = build_dev_app(settings, monkeypatch)
    with server_errors() as errors, asgi.get_client(app, max_stream_events=10_000) as client:
        api = FuzzApi(app, DOCUMENT, client, errors)
        api.prepare()
        errors.clear()
        yield api
    # The transport keeps an app's lifespan running until it is told otherwise.
    asgi.shutdown_lifespans()


# The document does not depend on the tables: it is read once, from an app on the defaults.
# (schemathesis.pytest.from_fixture would build it per test from the fixture's app, but it
# sets pytest's private Node._nodeid, which pytest 9.2 no longer has.)
DOCUMENT = dev_app_document()
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=CONFIG)


# --- Sending a case and judging the answer -------------------------------------------------


@dataclass
class Sent:
    """A request as it went out and the response, for checking and for the failure report."""

    operation: tuple[str, str]  # method and path template
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int
    response_headers: dict[str, str]  # lower-case names
    content: bytes
    cut_short: bool
    response: Any = field(default=None, repr=False)  # as the transport returned it

    @classmethod
    def of(cls, operation: tuple[str, str], response: Any, *, cut_short: bool = False) -> Sent:
        """From a requests or a schemathesis response (whose headers hold lists)."""
        request = response.request
        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers = {
            name.lower(): values[0] if isinstance(values, list) else values
            for name, values in response.headers.items()
        }
        return cls(
            operation=operation,
            url=str(request.url),
            headers=dict(request.headers),
            body=body,
            status=response.status_code,
            response_headers=headers,
            content=response.content,
            cut_short=cut_short,
            response=response,
        )

    def describe(self, errors: ServerErrors) -> str:
        body = "" if self.body is None else _clip(self.body, 600)
        auth = self.headers.get("Authorization", "<none>")
        lines = [
            f"request:  {self.operation[0]} {self.url}",
            f"  Authorization: {_clip(auth.encode(), 60)}",
            f"  Content-Type: {self.headers.get('Content-Type', '<none>')}",
            f"  body ({0 if self.body is None else len(self.body)} bytes): {body}",
            f"response: {self.status} {self.response_headers.get('content-type', '')}",
            f"  body ({len(self.content)} bytes): {_clip(self.content, 1200)}",
        ]
        report = errors.report()
        if report:
            lines.append("server log:\n" + report)
        return "\n".join(lines)


def _clip(data: bytes, limit: int) -> str:
    text = data[:limit].decode("utf-8", errors="backslashreplace")
    return text + (f"… (+{len(data) - limit} bytes)" if len(data) > limit else "")


def send(
    api: FuzzApi,
    case: Case,
    *,
    headers: dict[str, str],
    body: bytes | None = None,
    params: dict[str, Any] | None = None,
) -> Sent:
    """``case`` sent to the app in-process, as schemathesis sends it; ``body`` (bytes) and
    ``params`` replace what was generated."""
    kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
    if body is not None:
        kwargs["data"] = body
    if params:
        kwargs["params"] = params
    api.errors.clear()
    response = case.call(app=api.app, **kwargs)
    sent = Sent.of((case.method.upper(), case.path), response, cut_short=response.stream_cut_short)
    return sent


def check(api: FuzzApi, sent: Sent) -> None:
    problems = response_problems(
        sent.operation[1],
        sent.status,
        sent.response_headers,
        sent.content,
        stream_cut_short=sent.cut_short,
    )
    if problems:
        raise _kind(problems[0])("; ".join(problems) + "\n" + sent.describe(api.errors))


# After a write the API accepted: what else must still work.
FOLLOW_UPS = {
    ("PATCH", "/v1/org/settings"): ["/v1/org/settings", "chat"],
    ("DELETE", "/v1/org/settings"): ["/v1/org/settings", "chat"],
    ("PUT", "/v1/preferences"): ["/v1/preferences", "chat"],
    ("POST", "/v1/preferences/reset"): ["/v1/preferences", "chat"],
}
FOLLOW_UP_CHAT = {"message": "Does chat still work? Which image model for a watercolour?"}


def check_follow_ups(api: FuzzApi, sent: Sent) -> None:
    if not 200 <= sent.status < 300:
        return
    for follow_up in FOLLOW_UPS.get(sent.operation, []):
        api.errors.clear()
        if follow_up == "chat":
            path, method, body = "/v1/chat/stream", "POST", FOLLOW_UP_CHAT
        else:
            path, method, body = follow_up, "GET", None
        response = api.client.request(
            method, path, json=body, headers=api.headers, timeout=30, allow_redirects=False
        )
        headers = {name.lower(): value for name, value in response.headers.items()}
        problems = response_problems(path, response.status_code, headers, response.content)
        if problems:
            raise WriteBrokeLaterCalls(
                f"after the write below was accepted, {method} {path} broke: "
                + "; ".join(problems)
                + f"\n  {method} {path} answered {response.status_code}: "
                + _clip(response.content, 800)
                + "\nthe write:\n"
                + sent.describe(api.errors),
            )


# --- The first test: schemathesis as it comes ---------------------------------------------


@schema.parametrize()
@QUIET_HEALTH_CHECKS
def test_every_operation_answers_in_the_error_shape_and_never_500(
    case: Case, fuzz_api: FuzzApi
) -> None:
    sent = send(fuzz_api, case, headers=fuzz_api.headers)
    check(fuzz_api, sent)
    # Every answer as the document says: its content type, and its body's schema (Parley's
    # error body for every 4XX and 5XX; the 2xx bodies are loosely documented).
    try:
        case.validate_response(
            sent.response, checks=[response_schema_conformance, content_type_conformance]
        )
    except FailureGroup as failures:
        raise NotAsDocumented(f"{failures}\n{sent.describe(fuzz_api.errors)}") from None
    check_follow_ups(fuzz_api, sent)


# --- The second test: what no schema describes ---------------------------------------------

NAN, INF = float("nan"), float("inf")
LONE_SURROGATES = ["\ud800", "hi \ud800 there", "\udfff", "\udc00\ud800", "a\ud83d"]
EDGE_NUMBERS: list[Any] = [
    NAN,
    INF,
    -INF,
    1e300,
    -1e300,
    1e126,  # just past DynamoDB's largest number
    5e-324,
    1e-131,  # below DynamoDB's smallest
    10**39 + 7,  # 40 digits: past DynamoDB's 38 digits of precision
    -(10**40),
    2**63,
    2**64 + 1,
    -0.0,
    0.1 + 0.2,
]
EDGE_STRINGS: list[Any] = [
    *LONE_SURROGATES,
    "",
    " ",
    "\x00",
    "nul\x00in the middle",
    "\u2028\u2029",
    "\ufeff",
    "\U0001f600 emoji",
    "e\u0301\u0301\u0301",
    "\u202eright-to-left",
    "'\"}{<script>",
    "ORG#fuzz-org#DAY#2020-01-01",
    "../../etc/passwd",
    "x" * 40_000,  # longer than a chat message may be
    "y" * 150_000,
    "z" * 900_000,  # larger than a DynamoDB item
]
WRONG_TYPES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    "1",
    "true",
    [],
    {},
    [None],
    {"": None},
    [[[]]],
]
EDGE_KEYS = ["style", "extra_field", "", "\ud800", "__proto__", "k" * 300, "$where", "a.b"]
# Spliced into the JSON text as they are: numbers Python's json turns into inf or cannot parse.
RAW_VALUES = [
    "1e999",
    "-1e999",
    "NaN",
    "-Infinity",
    "1" + "0" * 5000,
    "0." + "0" * 5000 + "1",
    "-0",
]
RAW_BODIES = [
    b"",
    b"{",
    b"[",
    b"nul",
    b"null",
    b"[]",
    b'"text"',
    b"0",
    b"NaN",
    b"\xff\xfe\xfd",
    b'{"message": "\xff\xfe"}',
    b'\xef\xbb\xbf{"message": "BOM first"}',
    '{"message": "utf-16"}'.encode("utf-16"),
    b'{"message": "a", "message": "b"}',
    b'{"message": "hi"} trailing',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    b"1" + b"0" * 5000,
]

# Bodies each operation accepts, for edits to land on a request that is otherwise valid.
# "<conversation_id>" and "<message_id>" are the fuzzing user's own (FuzzApi.prepare).
CHAT = "Which image model for a watercolour?"
SEEDS: dict[tuple[str, str], list[Any]] = {
    ("POST", "/v1/chat/stream"): [
        {
            "message": CHAT,
            "panel": "pictures",
            # A known panel's choices are its fields' values (anything else is 422).
            "choices": {"defaultStyle": "watercolor", "defaultProvider": "flux"},
            "attachments": [{"name": "brief.txt", "text": "A short brief."}],
            "max_tokens": 50,
        },
        {"message": CHAT, "conversation_id": "<conversation_id>", "choices": {"count": 2}},
        {"message": CHAT, "mode": "cheap", "temperature": 0, "cache": True, "choices": {}},
        {"message": CHAT, "model": "gpt-5", "choices": {}},  # no key here: 503
    ],
    ("POST", "/v1/chat/completions"): [
        {
            "model": "auto",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": CHAT},
            ],
            "stream": stream,
            "stream_options": {"include_usage": True},
            "max_tokens": 50,
        }
        for stream in (True, False)
    ]
    + [
        {
            "model": "local",
            "messages": [
                {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
                {"role": "user", "content": [{"type": "text", "text": CHAT}]},
            ],
        }
    ],
    ("PATCH", "/v1/org/settings"): [
        {
            "daily_spend_cap_usd": 5,
            "rate_limits": {"user_per_minute": 0},
            "tiers": {"light": {"max_tokens": 500}},
            "cache": {"enabled": False},
            "preferences": {"defaults": {"pictures": {"defaultStyle": "watercolor"}}},
        }
    ],
    ("PUT", "/v1/preferences"): [
        {
            "preferences": {"pictures": {"defaultStyle": "watercolor"}},
            "favorite_panels": ["pictures"],
        }
    ],
    ("POST", "/v1/preferences/reset"): [{"panels": ["pictures"]}],
    ("POST", "/v1/feedback"): [
        {
            "message_id": "<message_id>",
            "conversation_id": "<conversation_id>",
            "thumbs": 1,
            "rating": 4,
            "comment": "Good answer.",
        }
    ],
    ("POST", "/v1/corrections"): [
        {
            "prompt": "Which image model?",
            "original_reply": "Any.",
            "corrected_reply": "FLUX Pro.",
            "reason": "Too vague",
            "category": "accuracy",
        }
    ],
    ("POST", "/v1/corrections/{correction_id}/approve"): [{"quality": 4}],
}
# Where a seed's values are free text or free-form (stored as they come), so an edit there
# reaches the handler: (path to a container, key), and a None key adds a new one.
HOT: dict[tuple[str, str], list[tuple[tuple[Any, ...], Any]]] = {
    ("POST", "/v1/chat/stream"): [
        (("choices",), "defaultStyle"),
        (("choices",), "count"),
        (("choices",), None),
        ((), "message"),
        (("attachments", 0), "text"),
        (("attachments", 0), "name"),
    ],
    ("POST", "/v1/chat/completions"): [
        (("messages", 1), "content"),
        (("messages", 0), "content"),
        ((), "model"),
        ((), None),  # OpenAI's many other fields are ignored
    ],
    ("PATCH", "/v1/org/settings"): [
        ((), "daily_spend_cap_usd"),
        (("rate_limits",), "user_per_minute"),
        (("tiers", "light"), "max_tokens"),
        (("preferences", "defaults", "pictures"), "defaultStyle"),
        (("preferences", "defaults", "pictures"), None),
    ],
    ("PUT", "/v1/preferences"): [
        (("preferences", "pictures"), "defaultStyle"),
        (("preferences", "pictures"), None),
        (("favorite_panels",), 0),
    ],
    ("POST", "/v1/preferences/reset"): [(("panels",), 0)],
    ("POST", "/v1/feedback"): [((), "comment"), ((), "rating")],
    ("POST", "/v1/corrections"): [
        ((), "prompt"),
        ((), "corrected_reply"),
        ((), "reason"),
    ],
    ("POST", "/v1/corrections/{correction_id}/approve"): [((), "quality")],
}
# Path parameters a seeded request points at the fuzzing user's own records.
SEED_PATH_PARAMETERS = ("conversation_id", "correction_id")

BAD_TOKENS = ["none", "empty", "garbage", "wrong-secret", "expired"]
AUTHS = ["good"] * 12 + [*BAD_TOKENS, "no-scopes"]
# What a store cannot hold or a text encoder cannot write: drawn most often.
HOSTILE: list[Any] = [
    NAN,
    INF,
    -INF,
    1e300,
    1e-131,
    10**39 + 7,
    "hi \ud800 there",
    "\udfff",
    "z" * 900_000,
]


def _edge_values() -> st.SearchStrategy[Any]:
    hostile = st.sampled_from(HOSTILE)
    return st.one_of(
        hostile,
        hostile,
        hostile,
        st.sampled_from(EDGE_NUMBERS),
        st.sampled_from(EDGE_STRINGS),
        st.sampled_from(WRONG_TYPES),
        st.text(st.characters(codec=None), max_size=20),  # any code point, surrogates included
        st.integers(min_value=-(10**45), max_value=10**45),
        st.floats(allow_nan=True, allow_infinity=True),
        st.dictionaries(st.sampled_from(EDGE_KEYS), st.sampled_from(EDGE_NUMBERS), max_size=2),
    )


CURSOR_ATTRIBUTE_VALUES: list[Any] = [
    {"N": "1"},
    {"N": "not a number"},
    {"S": 5},
    {"S": None},
    {"S": ""},
    {"S": "\ud800"},
    {"S": "x" * 3000},
    {"B": "AAAA"},
    {"SS": ["a"]},
    {"NULL": True},
    {"M": {}},
    {"L": []},
    {"S": "x", "N": "1"},
    {},
    "plain",
    5,
    None,
    [],
]
CURSOR_ATTRIBUTES = ["gsi1sk", "pk", "sk", "gsi1pk", "zz"]


def _authorization(auth: str) -> dict[str, str]:
    if auth == "none":
        return {}
    if auth == "empty":
        return {"Authorization": "Bearer "}
    tokens = {
        "good": lambda: token(USER, ORG),
        "garbage": lambda: "not-a-jwt",
        "wrong-secret": lambda: mint_token("another-secret-of-32-bytes-or-more!", user_id=USER),
        "expired": lambda: mint_token(DEV_JWT_SECRET, user_id=USER, now=time.time() - 7 * 86_400),
        "no-scopes": lambda: token(USER, ORG, scopes=""),
    }
    return {"Authorization": f"Bearer {tokens[auth]()}"}


SPLICE = "\u0000fuzz-splice\u0000"


def _positions(body: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path to a container, key) of ``body``, and (path to a dict, None) for a key
    that may be added to it, in a fixed order."""
    positions: list[tuple[tuple[Any, ...], Any]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            positions.append((path, None))
            for key in value:
                positions.append((path, key))
                walk(value[key], (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                positions.append((path, index))
                walk(item, (*path, index))

    walk(body, ())
    return positions


def _edit(
    data: st.DataObject, body: Any, hot: list[tuple[tuple[Any, ...], Any]], value: Any
) -> Any:
    """``body`` with ``value`` put at a drawn position: mostly a hot one of the seed's."""
    positions = _positions(body)
    if not positions:
        return value
    # A hot position is usable while its container is still there (an edit may replace it).
    usable = [p for p in hot if p in positions or (p[0], None) in positions]
    if usable and data.draw(st.integers(0, 3), label="where: 0-2 hot, 3 anywhere") < 3:
        path, key = data.draw(st.sampled_from(usable), label="hot position")
    else:
        path, key = data.draw(st.sampled_from(positions), label="position")
    container = body
    for step in path:
        container = container[step]
    if key is None:
        key = data.draw(st.sampled_from(EDGE_KEYS), label="new key")
    container[key] = copy.deepcopy(value)  # never the strategy's own object
    return body


def _draw_body(data: st.DataObject, case: Case, api: FuzzApi) -> bytes | None:
    """The bytes to send instead of the generated body, if any: a seed (valid, with the
    fuzzing user's own ids) or the generated body, with hostile values put in; or raw bytes."""
    operation = (case.method.upper(), case.path)
    seeds = SEEDS.get(operation, [])
    generated = not isinstance(case.body, NotSet) and case.body is not None
    if not seeds and not generated:
        return None
    source = data.draw(
        st.sampled_from(["seed", "seed", "seed", "generated", "raw"] if seeds else ["generated"]),
        label="body",
    )
    if source == "raw":
        raw: bytes = data.draw(st.sampled_from(RAW_BODIES), label="raw body")
        return raw
    if source == "seed":
        text = json.dumps(data.draw(st.sampled_from(seeds), label="seed"))
        for name, value in api.ids.items():
            text = text.replace(f'"<{name}>"', json.dumps(value))
        body = json.loads(text)
        for name in SEED_PATH_PARAMETERS:
            if name in case.path_parameters:
                case.path_parameters = {**case.path_parameters, name: api.ids[name]}
    else:
        try:
            body = json.loads(json.dumps(case.body))  # a copy, of plain JSON values
        except TypeError:  # not JSON (a binary sample): the generated body goes as it is
            return None
    hot = HOT.get(operation, []) if source == "seed" else []
    for _ in range(data.draw(st.integers(0, 2), label="edits")):
        body = _edit(data, body, hot, data.draw(_edge_values(), label="value"))
    raw_value = data.draw(st.none() | st.sampled_from(RAW_VALUES), label="raw value")
    if raw_value is not None:
        body = _edit(data, body, hot, SPLICE)
    # ensure_ascii (the default) writes a lone surrogate as its \udXXX escape, as Python
    # clients send it; allow_nan (the default) writes NaN and Infinity.
    text = json.dumps(body)
    if raw_value is not None:
        text = text.replace(json.dumps(SPLICE), raw_value)
    return text.encode()


def _partition(case: Case) -> tuple[str, str] | None:
    """The key attribute and value of the partition the caller's page cursor must be in."""
    operation = (case.method.upper(), case.path)
    if operation == ("GET", "/v1/conversations"):
        return "gsi1pk", owner_key(ORG, USER)
    if operation == ("GET", "/v1/corrections"):
        status = case.query.get("status")
        return "gsi1pk", corrections_key(ORG, status if status == "approved" else "pending")
    if operation == ("GET", "/v1/feedback"):
        today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        return "pk", day_pk(ORG, today)
    return None


def _draw_cursor(data: st.DataObject, case: Case) -> str | None:
    """For the list operations: a page cursor in the caller's own partition whose other
    attributes have the wrong type or shape (or the partition itself has), or base64url
    JSON of any value, or any text."""
    partition = _partition(case)
    if partition is None:
        return None
    kind = data.draw(st.sampled_from(["crafted", "crafted", "encoded", "text", "none"]))
    if kind == "none":
        return None
    if kind == "text":
        text: str = data.draw(
            st.text(max_size=60) | st.sampled_from(["", "=", "e30", "bnVsbA", "W10", "x" * 2001])
        )
        return text
    if kind == "encoded":
        value = data.draw(_edge_values() | st.just([{partition[0]: {"S": partition[1]}}]))
    else:
        others = data.draw(
            st.dictionaries(
                st.sampled_from(CURSOR_ATTRIBUTES),
                st.sampled_from(CURSOR_ATTRIBUTE_VALUES)
                | st.builds(lambda text: {"S": text}, st.text(max_size=10)),
                max_size=4,
            ),
            label="cursor attributes",
        )
        value = {partition[0]: {"S": partition[1]}, **others}
    raw = json.dumps(value).encode()
    standard = data.draw(st.booleans(), label="standard base64 alphabet")
    encoded = (base64.standard_b64encode if standard else base64.urlsafe_b64encode)(raw).decode()
    return encoded if data.draw(st.booleans(), label="padded") else encoded.rstrip("=")


# Query values by the parameter's schema: calendar edges (a range computed from the first or
# last day there is), integers out of every range, and text no store or log expects.
QUERY_EDGES: dict[str, list[str]] = {
    "date": ["0001-01-01", "0001-01-07", "9999-12-31", "2024-02-29", "2023-02-29", "1970-01-01"],
    "integer": ["0", "-1", "2147483648", "9" * 40, "1e3", "1.5", "NaN", "-0", " 1", "\uff11"],
    "string": ["", "\x00", "\U0001f600", "x" * 9000, "%", "../..", "ORG#x#DAY#y"],
}
# Percent-encoded bytes that are not UTF-8: a lone surrogate as CESU-8 writes it, and 0xFF.
QUERY_BYTES = [b"\xed\xa0\x80", b"\xff", b"a\xc3"]


def _query_kind(schema: dict[str, Any]) -> str | None:
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("format") == "date":
            return "date"
        if option.get("type") == "integer":
            return "integer"
        if option.get("type") == "string":
            return "string"
    return None


def _draw_query(data: st.DataObject, case: Case, api: FuzzApi) -> dict[str, Any]:
    """Query parameters of the operation set to edge values (on top of the generated ones)."""
    operation = api.document["paths"][case.path][case.method.lower()]
    names = {
        p["name"]: kind
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p["name"] != "cursor" and (kind := _query_kind(p["schema"]))
    }
    if not names or data.draw(st.booleans(), label="query edits"):
        return {}
    chosen = data.draw(st.lists(st.sampled_from(sorted(names)), min_size=1, unique=True))
    return {
        name: data.draw(st.sampled_from([*QUERY_EDGES[names[name]], *QUERY_BYTES]), label=name)
        for name in chosen
    }


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _is_strict_json(body: bytes | None) -> bool:
    """Whether the body is JSON as RFC 8259 has it (UTF-8, no NaN or Infinity, no lone
    surrogate) that Python's parser reads (no deeper than its recursion limit, integers of at
    most 4300 digits)."""
    if body is None:
        return True
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
        json.dumps(value, ensure_ascii=False).encode()  # a lone surrogate does not encode
    except (ValueError, RecursionError, UnicodeError):
        return False
    return True


@schema.parametrize()
@schema.given(data=st.data())
@QUIET_HEALTH_CHECKS
def test_hostile_input_and_bad_tokens_are_refused_in_the_error_shape(
    case: Case, data: st.DataObject, fuzz_api: FuzzApi
) -> None:
    auth = data.draw(st.sampled_from(AUTHS), label="token")
    if data.draw(st.integers(0, 3), label="generated headers: 3 keeps them") < 3:
        # A generated Idempotency-Key is often refused (422), or reused with another body
        # (422 too): most requests go without, to reach further.
        case.headers = {}
    headers = _authorization(auth)
    body = _draw_body(data, case, fuzz_api)
    if body is not None:
        headers["Content-Type"] = case.media_type or "application/json"
    params = _draw_query(data, case, fuzz_api)
    cursor = _draw_cursor(data, case)
    if cursor is not None:
        params["cursor"] = cursor
    sent = send(fuzz_api, case, headers=headers, body=body, params=params or None)
    check(fuzz_api, sent)
    if auth in BAD_TOKENS and fuzz_api.secured(case):
        # The body limit is enforced before anything else; FastAPI parses JSON before it
        # runs dependencies, so a body that is not JSON may be refused (422, or 400 when
        # the parser gives up) before the token is. Nothing else may get past the token.
        allowed = {401, 413} | ({400, 422} if not _is_strict_json(sent.body) else set())
        if sent.status not in allowed:
            raise AuthNotEnforced(
                f"a request with a {auth} token was answered {sent.status}, not 401\n"
                + sent.describe(fuzz_api.errors),
            )
    if auth == "good":
        check_follow_ups(fuzz_api, sent)


# --- The third test: every hostile value in every free-form field, systematically ---------

# Put at each hot position: the hostile values, and numbers Python's json reads as inf or
# refuses to read (spliced into the JSON text as they are).
SWEEP_VALUES: list[Any] = [*HOSTILE, -(10**40), 1e126]
SWEEP_RAW_VALUES = ["1e999", "1" + "0" * 5000]


def _sweep(operation: tuple[str, str], api: FuzzApi) -> Iterator[tuple[str, bytes]]:
    """(what was put where, the body) for every seed, hot position and value."""
    for seed in SEEDS[operation]:
        text = json.dumps(seed)
        for name, value in api.ids.items():
            text = text.replace(f'"<{name}>"', json.dumps(value))
        for where, key in HOT[operation]:
            for value in [*SWEEP_VALUES, *SWEEP_RAW_VALUES]:
                body = json.loads(text)
                container = body
                try:
                    for step in where:
                        container = container[step]
                except (KeyError, IndexError):
                    continue  # this seed has no such field
                raw = value in SWEEP_RAW_VALUES
                container["style" if key is None else key] = SPLICE if raw else value
                encoded = json.dumps(body)
                if raw:
                    encoded = encoded.replace(json.dumps(SPLICE), value)
                shown = repr(value) if len(repr(value)) <= 30 else f"{repr(value)[:27]}..."
                field = ".".join(str(step) for step in (*where, key or "<new key>"))
                yield f"{field} = {shown}", encoded.encode()


@pytest.mark.parametrize("operation", sorted(HOT), ids=" ".join)
def test_every_hostile_value_in_every_free_form_field_is_refused_cleanly(
    operation: tuple[str, str], fuzz_api: FuzzApi
) -> None:
    """Each seed body of the operation with one hostile value at one of its hot positions:
    every combination, and every failure reported (a Hypothesis test stops at its first)."""
    method, template = operation
    path = template.format(**fuzz_api.ids)
    headers = {**fuzz_api.headers, "Content-Type": "application/json"}
    failures: dict[str, str] = {}
    for label, body in _sweep(operation, fuzz_api):
        fuzz_api.errors.clear()
        response = fuzz_api.client.request(
            method, path, data=body, headers=headers, timeout=30, allow_redirects=False
        )
        sent = Sent.of(operation, response)
        try:
            check(fuzz_api, sent)
            check_follow_ups(fuzz_api, sent)
        except ApiFailure as failure:
            failures[label] = f"{type(failure).__name__}: {failure}"
    if failures:
        listed = "\n".join(f"  {label}: {text.splitlines()[0]}" for label, text in failures.items())
        first = "\n\n".join(list(failures.values())[:2])
        raise ApiFailure(
            f"{len(failures)} hostile values were not refused cleanly by {method} {template}:\n"
            f"{listed}\n\nThe first in full:\n{first}"
        )


def test_the_fixture_chats_through_the_offline_model(fuzz_api: FuzzApi) -> None:
    """The fixture's own chats went through the pipeline: the fuzzer's requests can too."""
    listed = fuzz_api.request("GET", "/v1/conversations").json()["conversations"]
    assert len(listed) == 3
