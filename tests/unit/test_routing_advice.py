"""The routing advice as the request path reads it: validated as untrusted data, and kept per
process, refreshed at most every 5 minutes, the last copy kept when a read fails."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from parley.analytics import advice as advice_module
from parley.analytics.advice import ADVICE_TTL_SECONDS, Advice, AdviceCache, parse_advice
from parley.analytics.store import MemoryRollupStore
from parley.errors import ParleyError, ServiceUnavailable
from tests.support.clock import FakeClock

pytestmark = pytest.mark.anyio

ORG = "acme"


def document(best: str = "haiku", **extra: Any) -> dict[str, Any]:
    return {
        "computed_at": "2026-12-01T10:00:00+00:00",
        "window_days": 30,
        "task_types": {
            "coding": [
                {"model": best, "provider": "anthropic", "score": 87.2, "samples": 120,
                 "confidence": 80.0},
                {"model": "mini", "provider": "openai", "score": 70.1, "samples": 5,
                 "confidence": 20.0},
            ]
        },
        **extra,
    }  # fmt: skip


class FakeSource:
    def __init__(self, doc: dict[str, Any] | None = None) -> None:
        self.doc = doc if doc is not None else document()
        self.reads = 0
        self.failure: Exception | None = None
        self.gate: threading.Event | None = None

    def advice(self, org_id: str) -> dict[str, Any] | None:
        self.reads += 1
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        if self.failure is not None:
            raise self.failure
        return self.doc


class Logged:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def warning(self, message: str, **keys: Any) -> None:
        self.lines.append(("warning", message, keys))

    def exception(self, message: str, **keys: Any) -> None:
        self.lines.append(("exception", message, keys))


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Logged:
    recorder = Logged()
    monkeypatch.setattr(advice_module, "logger", recorder)
    return recorder


def best(advice: Advice | None) -> str | None:
    return advice.for_task("coding")[0].model if advice is not None else None


# validation --------------------------------------------------------------------------------


def test_a_good_document_parses_and_unknown_fields_are_ignored() -> None:
    parsed = parse_advice(
        document(recommender="v2", task_types={"coding": [{**document()["task_types"]["coding"][0],
                                                           "latency_p50_ms": 420}]}),
        org_id=ORG,
    )  # fmt: skip
    assert parsed is not None
    (haiku,) = parsed.for_task("coding")
    assert (haiku.model, haiku.provider, haiku.score, haiku.samples, haiku.confidence) == (
        "haiku",
        "anthropic",
        87.2,
        120,
        80.0,
    )
    assert parsed.window_days == 30
    assert parsed.for_task("creative") == ()


@pytest.mark.parametrize(
    "bad",
    [
        "not an object",
        [],
        {"task_types": {}},  # no computed_at, no window_days
        document(computed_at="yesterday"),
        document(window_days=0),
        document(task_types={"coding": {"model": "haiku"}}),
        document(task_types={"coding": [{"model": "haiku", "score": 1, "samples": 5}]}),
        document(task_types={"coding": [{"model": "", "score": 1, "samples": 5, "confidence": 1}]}),
        document(task_types={"coding": [{"model": "h", "score": float("nan"), "samples": 5,
                                         "confidence": 1}]}),
        document(task_types={"coding": [{"model": "h", "score": 1, "samples": -1,
                                         "confidence": 1}]}),
        document(task_types={"coding": [{"model": "h", "score": 1, "samples": 5,
                                         "confidence": 101}]}),
        document(task_types={f"t{i}": [] for i in range(65)}),
    ],
)  # fmt: skip
def test_a_malformed_document_is_ignored_with_a_warning(bad: object, logged: Logged) -> None:
    assert parse_advice(bad, org_id=ORG) is None
    ((level, message, keys),) = logged.lines
    assert (level, message, keys["org_id"]) == ("warning", "Ignoring malformed routing advice", ORG)
    assert keys["problems"] >= 1
    assert keys["first_problem"]


# the cache ---------------------------------------------------------------------------------


async def test_the_cache_reads_at_most_every_five_minutes_per_org() -> None:
    source, clock = FakeSource(), FakeClock()
    cache = AdviceCache(source, clock=clock)
    assert ADVICE_TTL_SECONDS == 300
    assert not cache.is_fresh(ORG)
    assert best(await cache.get(ORG)) == "haiku"
    source.doc = document("flash")
    for _ in range(30):  # every ten seconds for the next five minutes
        clock.advance(9.99)
        assert cache.is_fresh(ORG)
        assert best(await cache.get(ORG)) == "haiku"
    assert source.reads == 1
    clock.advance(0.4)  # 300.1 s after the read
    assert not cache.is_fresh(ORG)
    assert best(cache.held(ORG)) == "haiku"  # what is held stays until the refresh
    assert best(await cache.get(ORG)) == "flash"
    assert source.reads == 2
    await cache.get("other-org")  # each org is its own entry
    assert source.reads == 3


async def test_no_advice_is_remembered_as_none_for_the_ttl_too() -> None:
    source, clock = FakeSource(), FakeClock()
    source.doc = None  # type: ignore[assignment]
    cache = AdviceCache(source, clock=clock)
    assert await cache.get(ORG) is None
    clock.advance(299)
    assert await cache.get(ORG) is None
    assert source.reads == 1


async def test_a_malformed_document_is_held_as_none_and_not_read_again_each_request(
    logged: Logged,
) -> None:
    source, clock = FakeSource(document(window_days="thirty")), FakeClock()
    cache = AdviceCache(source, clock=clock)
    for _ in range(5):
        assert await cache.get(ORG) is None
    assert source.reads == 1
    assert len(logged.lines) == 1


async def test_a_failed_read_keeps_the_last_copy_logged_and_tries_again_later(
    logged: Logged,
) -> None:
    source, clock = FakeSource(), FakeClock()
    cache = AdviceCache(source, ttl_seconds=300, retry_seconds=30, clock=clock)
    await cache.get(ORG)
    clock.advance(3600)  # long expired
    source.doc = document("flash")
    source.failure = ServiceUnavailable("The database is unreachable.")
    assert best(await cache.get(ORG)) == "haiku"  # the last copy, however old
    ((level, message, keys),) = logged.lines
    assert (level, keys["org_id"], keys["error_code"]) == ("warning", ORG, "service_unavailable")
    assert "keeping the last copy" in message

    clock.advance(29)  # within the retry interval: no read, no new line
    assert best(await cache.get(ORG)) == "haiku"
    assert source.reads == 2
    clock.advance(2)  # then it tries again, and recovers
    source.failure = None
    assert best(await cache.get(ORG)) == "flash"
    assert source.reads == 3
    assert len(logged.lines) == 1


@pytest.mark.parametrize("failure", [ServiceUnavailable("down"), RuntimeError("a bug")])
async def test_a_failed_read_with_nothing_held_is_none_never_an_error(
    failure: Exception, logged: Logged
) -> None:
    source, clock = FakeSource(), FakeClock()
    source.failure = failure
    cache = AdviceCache(source, clock=clock)
    assert await cache.get(ORG) is None
    assert len(logged.lines) == 1
    assert logged.lines[0][0] == ("warning" if isinstance(failure, ParleyError) else "exception")
    clock.advance(31)
    source.failure = None
    assert best(await cache.get(ORG)) == "haiku"


async def test_concurrent_refreshes_for_one_org_share_one_read() -> None:
    source = FakeSource()
    source.gate = threading.Event()
    cache = AdviceCache(source, clock=FakeClock())
    results: list[Advice | None] = []

    async def read() -> None:
        results.append(await cache.get(ORG))

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        assert source.reads == 1
        source.gate.set()
    assert [best(advice) for advice in results] == ["haiku"] * 20
    assert source.reads == 1


async def test_the_cache_reads_the_rollup_stores_advice() -> None:
    store = MemoryRollupStore()
    cache = AdviceCache(store, clock=FakeClock())
    assert await cache.get(ORG) is None
    store.put_advice(ORG, document("flash"))
    assert await cache.get(ORG) is None  # still the copy it holds
    assert best(await AdviceCache(store).get(ORG)) == "flash"  # another environment
