"""Rate limits: one contract, three backends, against real servers (moto on loopback for
DynamoDB, redis-server behind the Upstash REST shim); then what each backend does beyond it.

Several limiter instances, each with its own client, stand for several Lambda environments
(memory is one process: its "environments" share one instance). Memory and DynamoDB run on a
settable clock; upstash-ratelimit reads the real clock, so the Upstash tests wait for real, on
one-second windows where a window has to roll."""

from __future__ import annotations

import math
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import pytest
import redis
from botocore.exceptions import ClientError

from parley.budget.ratelimit import RateLimit, RateLimitExceeded, create_rate_limiter
from parley.budget.ratelimit.dynamodb import DynamoDBRateLimiter
from parley.budget.ratelimit.memory import MemoryRateLimiter
from parley.budget.ratelimit.upstash import UpstashRateLimiter
from parley.config import Settings
from parley.errors import ConfigurationError
from parley.hot.upstash import new_upstash_client
from parley.state.client import new_dynamodb_client
from parley.telemetry import logger
from tests.support.clock import FakeClock
from tests.support.servers import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.budget.ratelimit import LimitDecision, RateLimiter
    from tests.fakes.upstash import UpstashShim
    from tests.support.servers import RedisServer

pytestmark = pytest.mark.anyio

# On a boundary of every window used here (1 s, 60 s, 1 h): fake-clock tests start 10 s in.
START = 1_800_000_000.0


class Time:
    """Time as a test sees it: a fake clock moved at once, or the real one waited for."""

    def __init__(self, clock: FakeClock | None) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now if self.clock else time.time()

    async def advance(self, seconds: float) -> None:
        if self.clock:
            self.clock.now += seconds
        else:
            await anyio.sleep(seconds)

    async def start_window(self, window_seconds: float, *, into: float) -> None:
        """Move to the fraction ``into`` of the way through the next window."""
        now = self.now()
        target = (math.floor(now / window_seconds) + 1 + into) * window_seconds
        await self.advance(target - now)

    async def steady(self, window_seconds: float, seconds: float) -> None:
        """Make sure the next ``seconds`` fall in one window: a burst must not straddle two."""
        if window_seconds - self.now() % window_seconds < seconds:
            await self.start_window(window_seconds, into=0.0)

    def until_window_end(self, window_seconds: float) -> float:
        return window_seconds - self.now() % window_seconds


@dataclass
class Backend:
    name: str
    time: Time
    make: Callable[[], RateLimiter]
    opened: list[RateLimiter] = field(default_factory=list)

    def limiter(self) -> RateLimiter:
        """A new environment: its own limiter and client (memory: the one process's)."""
        made = self.make()
        self.opened.append(made)
        return made

    def environments(self, count: int) -> list[RateLimiter]:
        return [self.limiter() for _ in range(count)]


def build(name: str, request: pytest.FixtureRequest) -> Backend:
    if name == "memory":
        clock = FakeClock(START + 10)
        shared = MemoryRateLimiter(clock=clock)
        return Backend(name, Time(clock), lambda: shared)
    if name == "dynamodb":
        request.getfixturevalue("dynamodb")  # points new clients at moto
        table = request.getfixturevalue("settings").hot_table
        clock = FakeClock(START + 10)
        return Backend(
            name,
            Time(clock),
            lambda: DynamoDBRateLimiter(
                table, client=new_dynamodb_client("us-east-1", 5.0), clock=clock
            ),
        )
    shim: UpstashShim = request.getfixturevalue("upstash")
    return Backend(
        name,
        Time(None),
        lambda: UpstashRateLimiter(new_upstash_client(shim.url, shim.token), timeout_seconds=5.0),
    )


@pytest.fixture(params=["memory", "dynamodb", "upstash"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    made = build(request.param, request)
    yield made
    for limiter in made.opened:
        await limiter.close()


@pytest.fixture(params=["memory", "dynamodb"])
async def clocked(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """The backends whose clock the test sets."""
    made = build(request.param, request)
    yield made
    for limiter in made.opened:
        await limiter.close()


@pytest.fixture
def key() -> Callable[[str], str]:
    """Fresh keys per test: the servers outlive it."""
    run = uuid.uuid4().hex[:12]
    return lambda name: f"test:{run}:{name}"


async def run_together(calls: list[Callable[[], Awaitable[LimitDecision]]]) -> list[LimitDecision]:
    results: list[LimitDecision | None] = [None] * len(calls)

    async def run(index: int) -> None:
        results[index] = await calls[index]()

    async with anyio.create_task_group() as group:
        for index in range(len(calls)):
            group.start_soon(run, index)
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


async def allowed(limiter: RateLimiter, rules: list[RateLimit], times: int) -> list[bool]:
    return [(await limiter.acquire(rules)).allowed for _ in range(times)]


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(logger, "warning", lambda msg, **keys: logged.append((msg, keys)))
    return logged


# The contract, on every backend --------------------------------------------------------------


async def test_admits_the_limit_then_refuses_with_when_to_retry(
    backend: Backend, key: Callable[[str], str]
) -> None:
    rule = RateLimit("user", key("alice"), 3, 3600)
    limiter = backend.limiter()
    await backend.time.steady(3600, 5)
    decisions = [await limiter.acquire([rule]) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert all((d.limit, d.window_seconds) == (3, 3600) for d in decisions)
    refusal = decisions[-1]
    assert refusal.scope == "user"
    # The window is full: nothing passes before it ends, and a retry passes just after.
    until_end = backend.time.until_window_end(3600)
    assert until_end - 0.5 <= refusal.retry_after_seconds <= until_end + 0.5
    with pytest.raises(RateLimitExceeded) as raised:
        refusal.raise_if_refused()
    assert raised.value.status == 429
    assert raised.value.headers()["Retry-After"] == str(math.ceil(refusal.retry_after_seconds))
    assert raised.value.details == {"scope": "user", "limit": 3, "window_seconds": 3600}


async def test_environments_racing_admit_exactly_the_limit(
    backend: Backend, key: Callable[[str], str]
) -> None:
    environments = backend.environments(5)
    rule = RateLimit("user", key("alice"), 17, 3600)
    await backend.time.steady(3600, 10)
    decisions = await run_together(
        [partial(environments[n % 5].acquire, [rule]) for n in range(60)]
    )
    # Every request was decided by the store (a failing one would let requests through).
    assert all(d.limit is not None for d in decisions)
    admitted = [d for d in decisions if d.allowed]
    assert len(admitted) == 17
    # Each admission was counted on its own: every count from 1 to 17 was seen once.
    assert sorted(d.remaining for d in admitted if d.remaining is not None) == list(range(17))
    assert {d.scope for d in decisions if not d.allowed} == {"user"}
    # The 43 refusals counted nothing: one more than the limit admits exactly one more.
    raised = RateLimit("user", rule.key, 18, 3600)
    assert await allowed(environments[0], [raised], 3) == [True, False, False]


async def test_a_request_refused_by_one_rule_counts_against_none(
    backend: Backend, key: Callable[[str], str]
) -> None:
    limiter = backend.limiter()
    await backend.time.steady(3600, 5)
    user = RateLimit("user", key("user:alice"), 5, 3600)
    org = RateLimit("org", key("org"), 2, 3600)
    decisions = [await limiter.acquire([user, org]) for _ in range(5)]
    assert [(d.allowed, d.scope) for d in decisions] == [(True, None)] * 2 + [(False, "org")] * 3
    # Only the two admitted requests count for the user: three of its five are left.
    assert await allowed(limiter, [user], 4) == [True, True, True, False]

    # The other way round: the org's rule first, the user's refusing.
    wide = RateLimit("org", key("org:wide"), 10, 3600)
    narrow = RateLimit("user", key("user:bob"), 1, 3600)
    decisions = [await limiter.acquire([wide, narrow]) for _ in range(4)]
    assert [(d.allowed, d.scope) for d in decisions] == [(True, None)] + [(False, "user")] * 3
    assert await allowed(limiter, [wide], 10) == [True] * 9 + [False]


async def test_user_and_org_limits_combine(backend: Backend, key: Callable[[str], str]) -> None:
    limiter = backend.limiter()
    await backend.time.steady(3600, 5)
    org = RateLimit("org", key("org"), 4, 3600)

    async def ask(user: str) -> LimitDecision:
        return await limiter.acquire([RateLimit("user", key(f"user:{user}"), 3, 3600), org])

    ana = [await ask("ana") for _ in range(4)]
    assert [(d.allowed, d.scope) for d in ana] == [(True, None)] * 3 + [(False, "user")]
    # Allowed: the tightest rule is reported; ana's own rule, until the org's has less left.
    assert [(d.limit, d.remaining) for d in ana[:3]] == [(3, 2), (3, 1), (3, 0)]
    ben = [await ask("ben") for _ in range(2)]
    assert [(d.allowed, d.scope, d.limit, d.remaining) for d in ben] == [
        (True, None, 4, 0),
        (False, "org", 4, 0),
    ]
    cem = await ask("cem")
    assert (cem.allowed, cem.scope, cem.window_seconds) == (False, "org", 3600)
    # Both of ana's rules are full now: the first in order is the one reported.
    again = await ask("ana")
    assert (again.allowed, again.scope, again.limit) == (False, "user", 3)


async def test_users_racing_under_one_org_admit_exactly_the_org_limit(
    backend: Backend, key: Callable[[str], str]
) -> None:
    environments = backend.environments(4)
    org = RateLimit("org", key("org"), 13, 3600)
    users = [RateLimit("user", key(f"user:{n}"), 5, 3600) for n in range(4)]
    await backend.time.steady(3600, 10)
    decisions = await run_together(
        [partial(environments[n % 4].acquire, [users[n % 4], org]) for n in range(48)]
    )
    assert all(d.limit is not None for d in decisions)
    per_user = Counter(n % 4 for n, decision in enumerate(decisions) if decision.allowed)
    assert sum(per_user.values()) == 13
    assert max(per_user.values()) <= 5
    # Refused requests counted nothing: each user holds what it was admitted, the org 13.
    for n, user in enumerate(users):
        left = 5 - per_user[n]
        assert await allowed(environments[n], [user], 6) == [True] * left + [False] * (6 - left)
    raised = RateLimit("org", org.key, 14, 3600)
    assert await allowed(environments[0], [raised], 2) == [True, False]


async def test_the_window_slides_the_previous_count_out(
    backend: Backend, key: Callable[[str], str]
) -> None:
    limiter = backend.limiter()
    rule = RateLimit("user", key("alice"), 4, 1)
    await backend.time.start_window(1, into=0.0625)
    assert await allowed(limiter, [rule], 5) == [True] * 4 + [False]
    # 37.5% into the next window, the last one's 4 weigh floor(0.625 * 4) = 2.
    await backend.time.start_window(1, into=0.375)
    assert await allowed(limiter, [rule], 4) == [True, True, False, False]
    refusal = await limiter.acquire([rule])
    # Its own count (2) is under the limit: the next window lets a request through at once.
    assert refusal.retry_after_seconds == pytest.approx(0.625, abs=0.1)
    # And then the 2 weigh floor(0.625 * 2) = 1.
    await backend.time.start_window(1, into=0.375)
    assert await allowed(limiter, [rule], 4) == [True, True, True, False]


async def test_a_retry_after_the_advised_wait_passes(
    backend: Backend, key: Callable[[str], str]
) -> None:
    limiter = backend.limiter()
    rule = RateLimit("user", key("alice"), 2, 1)
    await backend.time.start_window(1, into=0.125)
    assert await allowed(limiter, [rule], 2) == [True, True]
    refusal = await limiter.acquire([rule])
    assert not refusal.allowed
    assert refusal.retry_after_seconds == pytest.approx(0.876, abs=0.1)
    await backend.time.advance(refusal.retry_after_seconds)
    # The full window still weighs floor(0.999 * 2) = 1: one request passes, not two.
    assert await allowed(limiter, [rule], 2) == [True, False]


# The clock-driven details, where the test sets the clock ----------------------------------------


async def test_a_retry_a_millisecond_early_is_refused(
    clocked: Backend, key: Callable[[str], str]
) -> None:
    limiter = clocked.limiter()
    rule = RateLimit("user", key("alice"), 2, 1)
    await clocked.time.start_window(1, into=0.125)
    assert await allowed(limiter, [rule], 2) == [True, True]
    refusal = await limiter.acquire([rule])
    assert refusal.retry_after_seconds == pytest.approx(0.876)
    await clocked.time.advance(refusal.retry_after_seconds - 0.001)
    assert await allowed(limiter, [rule], 1) == [False]
    await clocked.time.advance(0.001)
    assert await allowed(limiter, [rule], 1) == [True]


async def test_a_window_over_a_lowered_limit_makes_the_wait_run_into_the_next(
    clocked: Backend, key: Callable[[str], str]
) -> None:
    limiter = clocked.limiter()
    before = RateLimit("user", key("alice"), 6, 60)
    after = RateLimit("user", before.key, 3, 60)
    await clocked.time.start_window(60, into=0.0625)  # 56.25 s left
    assert await allowed(limiter, [before], 6) == [True] * 6
    refusal = await limiter.acquire([after])
    # Next window: the 6 weigh floor((1 - e / 60) * 6), under 3 only once e passes 30 s.
    assert refusal.retry_after_seconds == pytest.approx(56.25 + 30.001)
    await clocked.time.advance(refusal.retry_after_seconds - 0.001)
    assert await allowed(limiter, [after], 1) == [False]
    await clocked.time.advance(0.001)
    assert await allowed(limiter, [after], 2) == [True, False]


async def test_a_window_no_longer_counts_two_windows_on(
    clocked: Backend, key: Callable[[str], str]
) -> None:
    limiter = clocked.limiter()
    rule = RateLimit("user", key("alice"), 2, 60)
    await clocked.time.start_window(60, into=0.0625)
    assert await allowed(limiter, [rule], 3) == [True, True, False]
    await clocked.time.start_window(60, into=0.0625)  # weighs floor(0.9375 * 2) = 1
    await clocked.time.start_window(60, into=0.0625)  # the full window is two back
    assert await allowed(limiter, [rule], 3) == [True, True, False]


# DynamoDB ----------------------------------------------------------------------------------------


class Recorded:
    """A DynamoDB client around the real one: records each call's name, and can run a fault
    (an exception to raise, or a side effect such as another environment's write) first."""

    def __init__(self, real: DynamoDBClient) -> None:
        self._real = real
        self.calls: list[str] = []
        self.faults: dict[str, list[Exception | Callable[[], object]]] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._real, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            queued = self.faults.get(name)
            if queued:
                fault = queued.pop(0)
                if isinstance(fault, Exception):
                    raise fault
                fault()
            return method(**kwargs)

        return call


def client_error(code: str, operation: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return ClientError(response, operation)  # type: ignore[arg-type]


@pytest.fixture
def table(settings: Settings) -> str:
    return settings.hot_table


@pytest.fixture
def recorded(dynamodb: DynamoDBClient) -> Recorded:
    return Recorded(dynamodb)


def stored(dynamodb: DynamoDBClient, table: str, pk: str) -> dict[str, Any] | None:
    found = dynamodb.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)
    return found.get("Item")


def set_count(dynamodb: DynamoDBClient, table: str, pk: str, count: int) -> None:
    """Another environment's writes, straight to the table."""
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": pk}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": str(count)}},
    )


async def test_dynamodb_stores_one_expiring_item_per_rule_and_window(
    table: str, dynamodb: DynamoDBClient, key: Callable[[str], str]
) -> None:
    clock = FakeClock(START + 10)
    limiter = DynamoDBRateLimiter(table, client=dynamodb, clock=clock)
    rule = RateLimit("user", key("alice"), 5, 60)
    await limiter.acquire([rule])
    await limiter.acquire([rule])
    index = int(clock.now // 60)
    item = stored(dynamodb, table, f"ratelimit:{rule.key}:{index}")
    assert item is not None
    expires_ms = (index + 2) * 60_000 + 1000  # after the next window, which weighs this one
    assert item["n"] == {"N": "2"}
    assert item["exp"] == {"N": str(expires_ms)}
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert item[ttl["AttributeName"]] == {"N": str(expires_ms // 1000)}


async def test_dynamodb_counts_an_expired_item_as_absent(
    table: str, dynamodb: DynamoDBClient, key: Callable[[str], str]
) -> None:
    clock = FakeClock(START + 10)
    limiter = DynamoDBRateLimiter(table, client=dynamodb, clock=clock)
    rule = RateLimit("user", key("alice"), 5, 60)
    previous = f"ratelimit:{rule.key}:{int(clock.now // 60) - 1}"

    def put_previous(expires_ms: int) -> None:
        # A full previous window that TTL has (or has not) deleted yet.
        item = {"pk": previous, "n": "50", "exp": str(expires_ms), "ttl": str(expires_ms // 1000)}
        dynamodb.put_item(
            TableName=table,
            Item={k: {"S": v} if k == "pk" else {"N": v} for k, v in item.items()},
        )

    put_previous(int(clock.now * 1000) + 60_000)
    assert await allowed(limiter, [rule], 1) == [False]
    put_previous(int(clock.now * 1000) - 1)
    assert await allowed(limiter, [rule], 1) == [True]


async def test_dynamodb_refuses_with_one_read_and_no_write(
    table: str, recorded: Recorded, key: Callable[[str], str]
) -> None:
    limiter = DynamoDBRateLimiter(table, client=recorded, clock=FakeClock(START + 10))  # type: ignore[arg-type]
    rules = [RateLimit("user", key("alice"), 1, 60), RateLimit("org", key("org"), 5, 60)]
    await limiter.acquire(rules)
    assert recorded.calls == ["batch_get_item", "transact_write_items"]
    recorded.calls.clear()
    assert not (await limiter.acquire(rules)).allowed
    assert recorded.calls == ["batch_get_item"]


async def test_dynamodb_one_rule_is_one_conditional_update(
    table: str, recorded: Recorded, key: Callable[[str], str]
) -> None:
    limiter = DynamoDBRateLimiter(table, client=recorded, clock=FakeClock(START + 10))  # type: ignore[arg-type]
    decision = await limiter.acquire([RateLimit("user", key("alice"), 3, 60)])
    assert (decision.allowed, decision.remaining) == (True, 2)
    assert recorded.calls == ["batch_get_item", "update_item"]


@pytest.mark.parametrize("rules", ["user", "user+org"])
async def test_dynamodb_a_write_that_loses_the_race_is_refused_by_what_it_lost_to(
    rules: str,
    table: str,
    dynamodb: DynamoDBClient,
    recorded: Recorded,
    key: Callable[[str], str],
) -> None:
    clock = FakeClock(START + 10)  # 10 s into a minute: 50 s left
    limiter = DynamoDBRateLimiter(table, client=recorded, clock=clock)  # type: ignore[arg-type]
    user = RateLimit("user", key("alice"), 10, 60)
    org = RateLimit("org", key("org"), 3, 60)
    checked = [user] if rules == "user" else [user, org]
    racing = checked[-1]
    await limiter.acquire(checked)
    pk = f"ratelimit:{racing.key}:{int(clock.now // 60)}"
    # Between this request's read and its write, other environments count 6 (the limit
    # is 3 or 10, so the write's condition fails).
    write = "update_item" if rules == "user" else "transact_write_items"
    recorded.faults[write] = [lambda: set_count(dynamodb, table, pk, 12 if rules == "user" else 6)]
    refusal = await limiter.acquire(checked)
    assert (refusal.allowed, refusal.scope) == (False, racing.scope)
    # The count it lost to is over the limit, so the wait runs into the next window:
    # e > 60 * (count - limit) / count.
    count = 12 if rules == "user" else 6
    expected = 50 + 60 * (count - racing.limit) / count + 0.001
    assert refusal.retry_after_seconds == pytest.approx(expected)
    user_item = stored(dynamodb, table, f"ratelimit:{user.key}:{int(clock.now // 60)}")
    assert user_item is not None
    assert user_item["n"] == {"N": "12" if rules == "user" else "1"}


async def test_dynamodb_retries_transaction_conflicts(
    table: str, dynamodb: DynamoDBClient, recorded: Recorded, key: Callable[[str], str]
) -> None:
    clock = FakeClock(START + 10)
    limiter = DynamoDBRateLimiter(table, client=recorded, clock=clock)  # type: ignore[arg-type]
    user = RateLimit("user", key("alice"), 5, 60)
    org = RateLimit("org", key("org"), 5, 60)
    conflict = "TransactionCanceledException"
    recorded.faults["transact_write_items"] = [
        client_error(conflict, "TransactWriteItems", ["None", "TransactionConflict"]),
        client_error(conflict, "TransactWriteItems", ["TransactionConflict", "None"]),
    ]
    recorded.faults["update_item"] = [
        client_error("TransactionConflictException", "UpdateItem"),
    ]
    assert (await limiter.acquire([user, org])).allowed
    assert (await limiter.acquire([user])).allowed
    assert recorded.calls.count("transact_write_items") == 3
    assert recorded.calls.count("update_item") == 2
    index = int(clock.now // 60)
    counts = [stored(dynamodb, table, f"ratelimit:{r.key}:{index}") for r in (user, org)]
    assert [item["n"]["N"] if item else None for item in counts] == ["2", "1"]


@pytest.mark.parametrize(
    "fault",
    [
        ("batch_get_item", client_error("ProvisionedThroughputExceededException", "BatchGetItem")),
        (
            "transact_write_items",
            client_error(
                "TransactionCanceledException", "TransactWriteItems", ["None", "ThrottlingError"]
            ),
        ),
        # Conflicts that never end: the attempts run out.
        (
            "transact_write_items",
            client_error(
                "TransactionCanceledException",
                "TransactWriteItems",
                ["TransactionConflict", "None"],
            ),
        ),
    ],
    ids=["throttled-read", "throttled-write", "endless-conflicts"],
)
async def test_dynamodb_that_cannot_answer_lets_the_request_through(
    fault: tuple[str, ClientError],
    table: str,
    recorded: Recorded,
    key: Callable[[str], str],
    warnings: list[tuple[str, dict[str, Any]]],
) -> None:
    limiter = DynamoDBRateLimiter(table, client=recorded, attempts=3)  # type: ignore[arg-type]
    operation, error = fault
    recorded.faults[operation] = [error] * 3
    rules = [RateLimit("user", key("alice"), 5, 60), RateLimit("org", key("org"), 5, 60)]
    decision = await limiter.acquire(rules)
    assert (decision.allowed, decision.limit) == (True, None)
    assert warnings == [
        (
            "Rate limiter unavailable; request allowed",
            {"error": "service_unavailable", "scopes": ["user", "org"]},
        )
    ]


async def test_dynamodb_on_a_missing_table_is_a_configuration_error(
    dynamodb: DynamoDBClient,
) -> None:
    limiter = DynamoDBRateLimiter("no-such-table", client=dynamodb)
    with pytest.raises(ConfigurationError, match="no-such-table"):
        await limiter.acquire([RateLimit("user", "user:acme:alice", 5, 60)])


# Upstash -----------------------------------------------------------------------------------------


@pytest.fixture
def raw_redis(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    yield client
    client.close()


async def test_upstash_counts_under_the_key_format_the_give_back_relies_on(
    upstash: UpstashShim, raw_redis: redis.Redis, key: Callable[[str], str]
) -> None:
    # The give-back DECRBYs the key upstash-ratelimit wrote. Should an upgrade of the library
    # name its keys otherwise, this fails here instead of silently leaking refused requests.
    limiter = UpstashRateLimiter(new_upstash_client(upstash.url, upstash.token), prefix="rl")
    rule = RateLimit("user", key("alice"), 5, 3600)
    await Time(None).steady(3600, 5)
    assert (await limiter.acquire([rule])).allowed
    written = f"rl:{rule.key}:{int(time.time() * 1000) // 3_600_000}"
    assert raw_redis.get(written) == "1"
    assert 0 < raw_redis.pttl(written) <= 2 * 3_600_000 + 1000
    assert raw_redis.keys(f"rl:{rule.key}:*") == [written]
    await limiter.close()


async def test_upstash_gives_back_in_the_one_transaction_that_refuses(
    upstash: UpstashShim, raw_redis: redis.Redis, key: Callable[[str], str]
) -> None:
    limiter = UpstashRateLimiter(new_upstash_client(upstash.url, upstash.token))
    user = RateLimit("user", key("alice"), 5, 3600)
    org = RateLimit("org", key("org"), 1, 3600)
    await Time(None).steady(3600, 5)
    assert (await limiter.acquire([user, org])).allowed
    before = len(upstash.requests)
    refusal = await limiter.acquire([user, org])
    assert (refusal.allowed, refusal.scope) == (False, "org")
    # Two script calls (user admitted, org refused), then DECRBY, PEXPIRE and the MGET that
    # sizes Retry-After, as one MULTI/EXEC.
    sent = upstash.requests[before:]
    assert [path for path, _ in sent] == ["/", "/", "/multi-exec"]
    assert [command[0] for command in sent[-1][1]] == ["DECRBY", "PEXPIRE", "MGET"]
    written = f"ratelimit:{user.key}:{int(time.time() * 1000) // 3_600_000}"
    assert raw_redis.get(written) == "1"
    assert raw_redis.pttl(written) > 0
    await limiter.close()


async def test_upstash_sizes_the_wait_from_the_windows_it_reads(
    upstash: UpstashShim, key: Callable[[str], str]
) -> None:
    limiter = UpstashRateLimiter(new_upstash_client(upstash.url, upstash.token))
    before = RateLimit("user", key("alice"), 6, 1)
    after = RateLimit("user", before.key, 3, 1)
    await Time(None).start_window(1, into=0.0625)
    assert await allowed(limiter, [before], 6) == [True] * 6
    refusal = await limiter.acquire([after])
    # The window holds 6 against a limit of 3: the wait runs half-way into the next one.
    expected = Time(None).until_window_end(1) + 0.5
    assert refusal.retry_after_seconds == pytest.approx(expected, abs=0.05)
    await limiter.close()


class GiveBackFails:
    """An Upstash client whose transactions fail: the store went away mid-request."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def multi(self) -> Any:
        from upstash_redis.errors import UpstashError

        class Transaction:
            def __getattr__(self, name: str) -> Any:
                return lambda *args, **kwargs: self

            async def exec(self) -> list[Any]:
                raise UpstashError("connection reset")

        return Transaction()


async def test_upstash_refuses_even_when_the_give_back_fails(
    upstash: UpstashShim,
    raw_redis: redis.Redis,
    key: Callable[[str], str],
    warnings: list[tuple[str, dict[str, Any]]],
) -> None:
    real = new_upstash_client(upstash.url, upstash.token)
    limiter = UpstashRateLimiter(GiveBackFails(real))  # type: ignore[arg-type]
    user = RateLimit("user", key("alice"), 5, 3600)
    org = RateLimit("org", key("org"), 1, 3600)
    await Time(None).steady(3600, 5)
    assert (await limiter.acquire([user, org])).allowed
    refusal = await limiter.acquire([user, org])
    assert (refusal.allowed, refusal.scope) == (False, "org")
    # Its counts unread, the wait is the rest of the window, as the library's reset says.
    assert refusal.retry_after_seconds == pytest.approx(Time(None).until_window_end(3600), abs=1)
    assert warnings == [
        (
            "Rate limit refusal not given back to the other rules",
            {"error": "service_unavailable", "scope": "org", "counted": ["user"]},
        )
    ]
    # That one request stays counted for the user.
    assert raw_redis.get(f"ratelimit:{user.key}:{int(time.time() * 1000) // 3_600_000}") == "2"
    await real.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("server", ["closed", "silent"])
async def test_upstash_that_cannot_answer_lets_the_request_through(
    server: str, silent_port: int, warnings: list[tuple[str, dict[str, Any]]]
) -> None:
    port = free_port() if server == "closed" else silent_port
    limiter = UpstashRateLimiter(
        new_upstash_client(f"http://127.0.0.1:{port}", "token"), timeout_seconds=0.3
    )
    started = time.monotonic()
    decision = await limiter.acquire([RateLimit("user", "user:acme:alice", 5, 60)])
    assert decision.allowed
    assert time.monotonic() - started < 3
    error = "service_unavailable" if server == "closed" else "upstream_timeout"
    assert warnings == [
        ("Rate limiter unavailable; request allowed", {"error": error, "scopes": ["user"]})
    ]
    await limiter.close()


# The factory -------------------------------------------------------------------------------------


async def test_the_factory_chooses_as_the_hot_store_does(
    settings: Settings, upstash: UpstashShim, key: Callable[[str], str]
) -> None:
    rule = RateLimit("user", key("alice"), 1, 3600)
    await Time(None).steady(3600, 5)
    assert isinstance(create_rate_limiter(Settings(env="development")), MemoryRateLimiter)
    dynamodb = create_rate_limiter(settings.model_copy(update={"hot_backend": "dynamodb"}))
    assert isinstance(dynamodb, DynamoDBRateLimiter)
    assert await allowed(dynamodb, [rule], 2) == [True, False]
    configured = Settings(
        hot_backend="upstash",
        upstash_redis_rest_url=upstash.url,
        upstash_redis_rest_token=upstash.token,
    )
    limiter = create_rate_limiter(configured)
    assert isinstance(limiter, UpstashRateLimiter)
    assert await allowed(limiter, [rule], 2) == [True, False]
    await limiter.close()


async def test_the_factory_without_an_upstash_token_is_a_configuration_error() -> None:
    settings = Settings(hot_backend="upstash", upstash_redis_rest_url="https://x.upstash.io")
    with pytest.raises(ConfigurationError, match="UPSTASH_REDIS_REST_TOKEN"):
        create_rate_limiter(settings)
