"""Parley's provider adapters, driven through the official SDKs against the fake upstreams:
streams, usage, the conversation's shape on the wire, and every fault translated into
Parley's errors."""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from parley.providers.base import ChatMessage, Finish, GenerationRequest, TextDelta
from parley.providers.catalog import ModelSpec
from parley.providers.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderRequestInvalid,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
)
from parley.providers.keys import ApiKeys
from parley.providers.registry import ProviderRegistry
from parley.providers.timeouts import ProviderTimeouts
from tests.fakes.upstreams import FakeUpstream, Script

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from parley.providers.base import Provider

pytestmark = pytest.mark.anyio

REQUEST = GenerationRequest(
    messages=[
        ChatMessage("user", "Hi"),
        ChatMessage("assistant", "Hello! How can I help?"),
        ChatMessage("user", "Name a colour."),
    ],
    system="Be brief.",
    max_tokens=64,
    temperature=0.5,
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@dataclass
class Case:
    provider: str

    def spec(self, upstream: FakeUpstream, model: str) -> ModelSpec:
        base_url = {
            "openai": upstream.openai_base_url,
            "openai_compatible": upstream.openai_base_url,
            "anthropic": upstream.anthropic_base_url,
            "gemini": upstream.gemini_base_url,
        }[self.provider]
        return ModelSpec(
            name=f"{self.provider}-{model}",
            provider=self.provider,  # type: ignore[arg-type]
            model=model,
            base_url=base_url,
            api_key_env="FAKE_KEY",
            tier="light",
            context_window=8000,
            input_price_per_mtok=1,
            output_price_per_mtok=2,
        )


CASES = [Case("openai"), Case("openai_compatible"), Case("anthropic"), Case("gemini")]


@pytest.fixture(params=CASES, ids=lambda case: case.provider)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def registry() -> AsyncIterator[ProviderRegistry]:
    keys = ApiKeys(environ={"FAKE_KEY": "test-key"})
    built = ProviderRegistry(keys, timeouts=ProviderTimeouts(connect_seconds=2, read_seconds=0.5))
    yield built
    await built.aclose()  # the SDK clients belong to this test's event loop


@dataclass
class Outcome:
    deltas: list[str] = field(default_factory=list)
    finish: Finish | None = None
    error: ProviderError | None = None


async def run(provider: Provider, spec: ModelSpec, request: GenerationRequest = REQUEST) -> Outcome:
    outcome = Outcome()
    try:
        async for event in provider.stream(spec, request):
            if isinstance(event, TextDelta):
                outcome.deltas.append(event.text)
            else:
                outcome.finish = event
    except ProviderError as exc:
        outcome.error = exc
    return outcome


def model_name(request: pytest.FixtureRequest) -> str:
    # Scripts are keyed by the upstream model: one per test and parameters.
    return hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]  # noqa: S324 (a name)


async def test_text_streams_in_order_and_ends_with_measured_usage(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["Blue", ", like ", "the sea."], usage=(21, 7)))
    outcome = await run(registry.provider_for(spec), spec)
    assert outcome.error is None
    assert outcome.deltas == ["Blue", ", like ", "the sea."]
    assert outcome.finish is not None
    assert outcome.finish.finish_reason == "stop"
    assert (outcome.finish.usage.input_tokens, outcome.finish.usage.output_tokens) == (21, 7)
    assert outcome.finish.usage.estimated is False
    assert len(upstream.requests_for(spec.model)) == 1


async def test_the_conversation_arrives_in_the_providers_own_format(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script())
    await run(registry.provider_for(spec), spec)
    body: dict[str, Any] = upstream.requests_for(spec.model)[-1].body
    if case.provider in ("openai", "openai_compatible"):
        assert body["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Name a colour."},
        ]
        assert body["stream_options"] == {"include_usage": True}
        budget = "max_tokens" if case.provider == "openai_compatible" else "max_completion_tokens"
        assert body[budget] == 64
        assert body["temperature"] == 0.5
    elif case.provider == "anthropic":
        assert body["system"] == "Be brief."
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
        assert body["messages"][2]["content"] == "Name a colour."
        assert body["max_tokens"] == 64
    else:
        assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
        assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
        assert body["contents"][1]["parts"] == [{"text": "Hello! How can I help?"}]
        assert body["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 64}


async def test_missing_usage_is_estimated_and_marked(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["x" * 40], usage=None))
    outcome = await run(registry.provider_for(spec), spec)
    assert outcome.finish is not None
    assert outcome.finish.usage.estimated is True
    assert outcome.finish.usage.output_tokens == 10


async def test_a_length_stop_is_reported_as_length(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(finish_reason="length"))
    outcome = await run(registry.provider_for(spec), spec)
    assert outcome.finish is not None
    assert outcome.finish.finish_reason == "length"


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (429, ProviderRateLimited, True),
        (500, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
        (529, ProviderUnavailable, True),
        (400, ProviderRejected, False),
        (401, ProviderRejected, False),
    ],
)
async def test_http_errors_become_parley_errors_without_sdk_retries(
    case: Case,
    upstream: FakeUpstream,
    registry: ProviderRegistry,
    request: pytest.FixtureRequest,
    status: int,
    kind: type[ProviderError],
    retryable: bool,
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(
        spec.model, Script(http_status=status, retry_after=3 if status == 429 else None)
    )
    outcome = await run(registry.provider_for(spec), spec)
    assert isinstance(outcome.error, kind)
    assert outcome.error.retryable is retryable
    assert outcome.error.upstream_status == status
    assert outcome.error.provider == case.provider
    assert outcome.deltas == []
    if status == 429:
        assert outcome.error.retry_after == 3
    assert len(upstream.requests_for(spec.model)) == 1  # the SDK did not retry on its own


# google-genai writes JSON with ASCII escapes, so it sends a lone surrogate as `\ud800` and
# the API judges it (a refusal, which does not count either); openai and anthropic encode
# UTF-8, which fails before anything is sent.
@pytest.mark.parametrize("provider", ["openai", "openai_compatible", "anthropic"])
async def test_a_request_the_sdk_cannot_encode_is_the_requests_fault_and_never_sent(
    provider: str,
    upstream: FakeUpstream,
    registry: ProviderRegistry,
    request: pytest.FixtureRequest,
) -> None:
    # GIVEN text with a lone surrogate, which the SDK cannot encode as UTF-8 (the chat
    # endpoints refuse it before this; the adapter's classification is the last line)
    spec = Case(provider).spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["never"]))
    unencodable = GenerationRequest(
        messages=[ChatMessage("user", "hi \ud800 there")], system="Be brief.", max_tokens=16
    )
    # WHEN the adapter is asked to stream it
    outcome = await run(registry.provider_for(spec), spec, unencodable)
    # THEN it is a request error that nothing counts against the model, and no byte left
    assert isinstance(outcome.error, ProviderRequestInvalid)
    assert outcome.error.caused_by_provider is False
    assert outcome.error.retryable is False
    assert upstream.requests_for(spec.model) == []


# google-genai reads its chunks into its own models and handles what does not fit itself.
@pytest.mark.parametrize("provider", ["openai", "openai_compatible", "anthropic"])
async def test_a_stream_of_valid_json_in_the_wrong_shape_is_the_providers_stream_error(
    provider: str,
    upstream: FakeUpstream,
    registry: ProviderRegistry,
    request: pytest.FixtureRequest,
) -> None:
    spec = Case(provider).spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["a", "b"], misshapen_after=1))
    outcome = await run(registry.provider_for(spec), spec)
    assert outcome.deltas == ["a"]
    assert isinstance(outcome.error, ProviderStreamError)
    assert outcome.error.caused_by_provider


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_bug_in_parleys_own_reading_of_a_stream_is_not_blamed_on_the_provider(
    provider: str,
    upstream: FakeUpstream,
    registry: ProviderRegistry,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an adapter whose own code breaks while it reads a perfectly good stream
    module = importlib.import_module(f"parley.providers.{provider}")

    def broken(value: Any, what: str) -> Any:
        raise AttributeError("a bug in Parley's parsing")

    monkeypatch.setattr(module, "an_object", broken)
    spec = Case(provider).spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["fine"]))
    # THEN it is the bug itself, not a provider error that failover would retry elsewhere
    with pytest.raises(AttributeError, match="a bug"):
        await run(registry.provider_for(spec), spec)


async def test_an_in_band_error_after_some_text_is_a_stream_error(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["a", "b", "c"], error_after=2))
    outcome = await run(registry.provider_for(spec), spec)
    assert outcome.deltas == ["a", "b"]
    assert isinstance(outcome.error, ProviderStreamError | ProviderUnavailable)
    assert outcome.error.retryable


async def test_a_cut_connection_is_an_error_not_a_clean_end(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["a", "b", "c"], cut_after=1))
    outcome = await run(registry.provider_for(spec), spec)
    assert outcome.deltas == ["a"]
    assert outcome.finish is None
    assert isinstance(outcome.error, ProviderStreamError | ProviderUnavailable)


async def test_a_stall_longer_than_the_read_timeout_is_a_timeout(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["a", "b"], stall_after=1, stall_seconds=5))
    with anyio.fail_after(4):
        outcome = await run(registry.provider_for(spec), spec)
    assert outcome.deltas == ["a"]
    assert isinstance(outcome.error, ProviderTimeout)


async def test_a_malformed_chunk_is_a_stream_error(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["a", "b"], malformed_after=1))
    outcome = await run(registry.provider_for(spec), spec)
    assert outcome.deltas == ["a"]
    assert isinstance(outcome.error, ProviderStreamError)


async def test_closing_the_stream_early_ends_the_upstream_request(
    case: Case, upstream: FakeUpstream, registry: ProviderRegistry, request: pytest.FixtureRequest
) -> None:
    spec = case.spec(upstream, model_name(request))
    upstream.script(spec.model, Script(chunks=["a"] * 50, chunk_delay=0.05))
    stream = registry.provider_for(spec).stream(spec, REQUEST)
    first = await anext(stream)
    assert first == TextDelta("a")
    await stream.aclose()
    with anyio.fail_after(3):
        while spec.model not in upstream.abandoned:
            await anyio.sleep(0.02)


async def test_adapters_are_built_once_per_provider_and_key(
    upstream: FakeUpstream, registry: ProviderRegistry
) -> None:
    first = Case("openai").spec(upstream, "reuse-a")
    second = Case("openai").spec(upstream, "reuse-b")
    assert registry.provider_for(first) is registry.provider_for(second)
    assert registry.provider_for(
        Case("anthropic").spec(upstream, "x")
    ) is not registry.provider_for(first)
    await registry.aclose()
