"""The fake upstreams against the official SDKs: each SDK must read the fake's streams, errors
and faults exactly as it reads the real API's, or tests built on the fake prove nothing.

Each driver below wraps one SDK and records, by its class attributes, how that SDK surfaces
every fault; the parametrized tests check all three the same way. SDK retries are off
everywhere (``max_retries=0``; google-genai retries only with ``HttpRetryOptions``, and
``attempts=1`` makes that explicit), so every request reaches the fake exactly once.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import anthropic
import anyio
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from tests.fakes.upstreams import FakeUpstream, Script

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.anyio

SYSTEM = "Be brief."
HISTORY = [("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Name a colour.")]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@dataclass
class Received:
    """What a streaming call produced, kept as it arrives so a test can look after a raise."""

    text: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: tuple[int, int] | None = None


class Driver(ABC):
    """One SDK pointed at the fake. The class attributes say how the SDK reports each fault."""

    name: ClassVar[str]
    finish: ClassVar[dict[str, str]]  # Script.finish_reason -> what the SDK reports
    rate_limited: ClassVar[type[BaseException]]
    server_errors: ClassVar[dict[int, type[BaseException]]]
    in_band: ClassVar[type[BaseException]]
    cut: ClassVar[type[BaseException]]
    stalled: ClassVar[type[BaseException]]
    malformed: ClassVar[type[BaseException]]

    def __init__(self, upstream: FakeUpstream) -> None:
        self.upstream = upstream

    @abstractmethod
    async def stream(self, model: str, into: Received, *, timeout: float = 10.0) -> None:
        """Stream ``model``'s answer into ``into`` through the SDK."""

    @abstractmethod
    async def complete(self, model: str) -> str:
        """The whole answer of a non-streamed call."""

    @abstractmethod
    def assert_conversation(self, body: Any) -> None:
        """The request body carries SYSTEM and HISTORY in the provider's own format."""


class OpenAIDriver(Driver):
    name = "openai"
    finish: ClassVar = {"stop": "stop", "length": "length"}
    rate_limited = openai.RateLimitError
    server_errors: ClassVar = {500: openai.InternalServerError, 503: openai.InternalServerError}
    in_band = openai.APIError  # not an APIStatusError: the stream itself was a 200
    cut = openai.APIConnectionError  # wraps httpx2.RemoteProtocolError
    stalled = openai.APITimeoutError  # wraps httpx2.ReadTimeout
    malformed = json.JSONDecodeError  # raised as it is by Stream.__stream__

    def client(self, timeout: float = 10.0) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key="sk-fake",
            base_url=self.upstream.openai_base_url,
            max_retries=0,
            timeout=timeout,
        )

    def messages(self) -> list[Any]:
        return [{"role": "system", "content": SYSTEM}] + [
            {"role": role, "content": text} for role, text in HISTORY
        ]

    async def stream(
        self, model: str, into: Received, *, timeout: float = 10.0, include_usage: bool = True
    ) -> None:
        options: Any = {"include_usage": True} if include_usage else openai.omit
        async with self.client(timeout) as client:
            stream = await client.chat.completions.create(
                model=model,
                messages=self.messages(),
                stream=True,
                stream_options=options,
                max_completion_tokens=64,
                temperature=0.5,
            )
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = chunk.usage
                        into.usage = (usage.prompt_tokens, usage.completion_tokens)
                    for choice in chunk.choices:
                        if choice.delta.content:
                            into.text.append(choice.delta.content)
                        if choice.finish_reason:
                            into.finish = choice.finish_reason

    async def complete(self, model: str) -> str:
        async with self.client() as client:
            answer = await client.chat.completions.create(model=model, messages=self.messages())
        return answer.choices[0].message.content or ""

    def assert_conversation(self, body: Any) -> None:
        assert body["messages"] == self.messages()
        assert body["max_completion_tokens"] == 64
        assert body["temperature"] == 0.5


class AnthropicDriver(Driver):
    name = "anthropic"
    finish: ClassVar = {"stop": "end_turn", "length": "max_tokens"}
    rate_limited = anthropic.RateLimitError
    server_errors: ClassVar = {
        500: anthropic.InternalServerError,
        503: anthropic.ServiceUnavailableError,
        529: anthropic.OverloadedError,
    }
    in_band = anthropic.APIStatusError  # status_code 200: the status of the stream it came in
    cut = httpx2.RemoteProtocolError  # not wrapped: AsyncStream reads the body unguarded
    stalled = httpx2.ReadTimeout  # likewise not an anthropic.APITimeoutError
    malformed = json.JSONDecodeError

    def client(self, timeout: float = 10.0) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key="sk-ant-fake",
            base_url=self.upstream.anthropic_base_url,
            max_retries=0,
            timeout=timeout,
        )

    def messages(self) -> list[Any]:
        return [{"role": role, "content": text} for role, text in HISTORY]

    async def stream(self, model: str, into: Received, *, timeout: float = 10.0) -> None:
        input_tokens = 0
        async with self.client(timeout) as client:
            stream = await client.messages.create(
                model=model,
                system=SYSTEM,
                messages=self.messages(),
                max_tokens=64,
                # anthropic 2.12.0 dropped `temperature` from messages.create(): it is a
                # TypeError there, so it has to travel in extra_body.
                extra_body={"temperature": 0.5},
                stream=True,
            )
            async with stream:
                async for event in stream:
                    if event.type == "message_start":
                        input_tokens = event.message.usage.input_tokens
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        into.text.append(event.delta.text)
                    elif event.type == "message_delta":
                        into.finish = event.delta.stop_reason
                        if event.usage is not None:
                            into.usage = (input_tokens, event.usage.output_tokens)

    async def complete(self, model: str) -> str:
        async with self.client() as client:
            message = await client.messages.create(
                model=model, system=SYSTEM, messages=self.messages(), max_tokens=64
            )
        return "".join(block.text for block in message.content if block.type == "text")

    def assert_conversation(self, body: Any) -> None:
        assert body["system"] == SYSTEM
        assert body["messages"] == self.messages()
        assert body["max_tokens"] == 64
        assert body["stream"] is True
        assert body["temperature"] == 0.5


class GeminiDriver(Driver):
    name = "gemini"
    finish: ClassVar = {"stop": "STOP", "length": "MAX_TOKENS"}
    rate_limited = genai_errors.ClientError  # with .code 429
    server_errors: ClassVar = {500: genai_errors.ServerError, 503: genai_errors.ServerError}
    in_band = genai_errors.ServerError  # .code from the error body (500); the stream was a 200
    cut = httpx2.RemoteProtocolError  # google-genai wraps no transport error
    stalled = httpx2.ReadTimeout
    malformed = genai_errors.UnknownApiResponseError

    def client(self, timeout: float = 10.0) -> genai.Client:
        options = genai_types.HttpOptions(
            base_url=self.upstream.gemini_base_url,
            timeout=int(timeout * 1000),  # milliseconds
            retry_options=genai_types.HttpRetryOptions(attempts=1),
        )
        return genai.Client(api_key="gemini-fake", http_options=options)

    def config(self) -> genai_types.GenerateContentConfig:
        return genai_types.GenerateContentConfig(
            system_instruction=SYSTEM, temperature=0.5, max_output_tokens=64
        )

    def contents(self) -> list[genai_types.Content]:
        return [
            genai_types.Content(
                role="model" if role == "assistant" else "user", parts=[genai_types.Part(text=text)]
            )
            for role, text in HISTORY
        ]

    async def stream(self, model: str, into: Received, *, timeout: float = 10.0) -> None:
        client = self.client(timeout)
        try:
            stream = await client.aio.models.generate_content_stream(
                model=model, contents=self.contents(), config=self.config()
            )
            async for chunk in stream:
                for candidate in chunk.candidates or []:
                    parts = candidate.content.parts if candidate.content else None
                    for part in parts or []:
                        if part.text:
                            into.text.append(part.text)
                    if candidate.finish_reason is not None:
                        into.finish = candidate.finish_reason.value
                metadata = chunk.usage_metadata
                if metadata is not None and metadata.prompt_token_count is not None:
                    output = metadata.candidates_token_count or 0
                    into.usage = (metadata.prompt_token_count, output)
        except genai_errors.APIError as exc:
            await _close_abandoned_gemini_stream(exc)
            raise
        finally:
            await client.aio.aclose()

    async def complete(self, model: str) -> str:
        client = self.client()
        try:
            answer = await client.aio.models.generate_content(
                model=model, contents=self.contents(), config=self.config()
            )
        finally:
            await client.aio.aclose()
        return answer.text or ""

    def assert_conversation(self, body: Any) -> None:
        assert body["systemInstruction"]["parts"] == [{"text": SYSTEM}]
        assert body["contents"] == [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello! How can I help?"}]},
            {"role": "user", "parts": [{"text": "Name a colour."}]},
        ]
        assert body["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 64}


async def _close_abandoned_gemini_stream(exc: genai_errors.APIError) -> None:
    """google-genai raises an in-band error from the generator wrapping the stream but leaves
    the generator reading the body suspended, so the response stays open until the event loop
    shuts down (which then logs "aclose(): asynchronous generator is already running")."""
    segments = getattr(exc.response, "segment_iterator", None)
    if segments is not None:
        await segments.aclose()


DRIVERS = [OpenAIDriver, AnthropicDriver, GeminiDriver]


@pytest.fixture(params=DRIVERS, ids=lambda kind: kind.name)
def driver(request: pytest.FixtureRequest, upstream: FakeUpstream) -> Driver:
    kind: type[Driver] = request.param
    return kind(upstream)


def model_for(driver: Driver, request: pytest.FixtureRequest) -> str:
    """A model name no other test uses, so the module's one server keeps scripts apart."""
    return f"{driver.name}-{request.node.name}".replace("[", "-").replace("]", "")


def status_of(exc: BaseException) -> int:
    code = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    return int(code or 0)


@pytest.mark.parametrize("finish_reason", ["stop", "length"])
async def test_streamed_text_usage_and_finish_reason(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest, finish_reason: str
) -> None:
    model = model_for(driver, request)
    chunks = ["The", " sky", " is", " blue", "."]
    upstream.script(model, Script(chunks=chunks, usage=(21, 5), finish_reason=finish_reason))
    received = Received()
    await driver.stream(model, received)
    assert received.text == chunks
    assert received.usage == (21, 5)
    assert received.finish == driver.finish[finish_reason]


async def test_the_request_carries_the_conversation_in_the_providers_format(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    await driver.stream(model, Received())
    recorded = upstream.requests_for(model)
    assert [r.provider for r in recorded] == [driver.name]
    driver.assert_conversation(recorded[-1].body)


async def test_the_non_streaming_call_returns_the_whole_text(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    upstream.script(model, Script(chunks=["One", " piece", "."]))
    assert await driver.complete(model) == "One piece."


async def test_a_429_raises_the_rate_limit_error_with_retry_after(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    upstream.script(model, Script(http_status=429, retry_after=7))
    with pytest.raises(driver.rate_limited) as raised:
        await driver.stream(model, Received())
    assert status_of(raised.value) == 429
    response: Any = raised.value.response  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "7"
    assert len(upstream.requests_for(model)) == 1  # no retry by the SDK


@pytest.mark.parametrize(
    ("kind", "status"),
    [(kind, status) for kind in DRIVERS for status in sorted(kind.server_errors)],
    ids=lambda value: value.name if isinstance(value, type) else str(value),
)
async def test_a_server_error_raises_the_sdks_status_error(
    kind: type[Driver],
    status: int,
    upstream: FakeUpstream,
    request: pytest.FixtureRequest,
) -> None:
    driver = kind(upstream)
    model = model_for(driver, request)
    upstream.script(model, Script(http_status=status))
    with pytest.raises(driver.server_errors[status]) as raised:
        await driver.stream(model, Received())
    assert status_of(raised.value) == status
    assert len(upstream.requests_for(model)) == 1


async def test_an_in_band_error_raises_after_the_earlier_chunks(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    upstream.script(model, Script(chunks=["a", "b", "c", "d"], error_after=2))
    received = Received()
    with pytest.raises(driver.in_band) as raised:
        await driver.stream(model, received)
    assert received.text == ["a", "b"]
    if driver.name == "anthropic":
        assert status_of(raised.value) == 200
        assert raised.value.body["error"]["type"] == "overloaded_error"  # type: ignore[attr-defined]
    if driver.name == "gemini":
        assert status_of(raised.value) == 500
        assert raised.value.status == "INTERNAL"  # type: ignore[attr-defined]


async def test_a_cut_connection_raises_instead_of_ending_cleanly(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    upstream.script(model, Script(chunks=["a", "b", "c"], cut_after=2))
    received = Received()
    with pytest.raises(driver.cut) as raised:
        await driver.stream(model, received)
    assert received.text == ["a", "b"]
    assert received.finish is None
    transport_error = raised.value.__cause__ if driver.name == "openai" else raised.value
    assert isinstance(transport_error, httpx2.RemoteProtocolError)


async def test_a_stall_longer_than_the_read_timeout_raises_a_timeout(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    upstream.script(model, Script(chunks=["a", "b"], stall_after=1, stall_seconds=30))
    received = Received()
    started = time.monotonic()
    with pytest.raises(driver.stalled):
        await driver.stream(model, received, timeout=0.3)
    assert time.monotonic() - started < 5
    assert received.text == ["a"]


async def test_a_stall_shorter_than_the_read_timeout_only_slows_the_stream(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    upstream.script(model, Script(chunks=["a", "b"], stall_after=1, stall_seconds=0.2))
    received = Received()
    started = time.monotonic()
    await driver.stream(model, received, timeout=2)
    assert time.monotonic() - started >= 0.2
    assert received.text == ["a", "b"]


async def test_a_malformed_chunk_raises(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    model = model_for(driver, request)
    upstream.script(model, Script(chunks=["a", "b"], malformed_after=1))
    received = Received()
    with pytest.raises(driver.malformed):
        await driver.stream(model, received)
    assert received.text == ["a"]


async def test_missing_usage_reaches_the_sdk_as_no_usage(
    driver: Driver, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    """Anthropic has no form without usage: the fake reports zero input tokens at the start and
    leaves usage out of message_delta, which the SDK reads as ``usage=None``."""
    model = model_for(driver, request)
    upstream.script(model, Script(usage=None))
    received = Received()
    await driver.stream(model, received)
    assert received.text == ["Hello", " world", "!"]
    assert received.usage is None
    assert received.finish == driver.finish["stop"]


async def test_openai_reports_usage_only_when_asked(
    upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    driver = OpenAIDriver(upstream)
    model = model_for(driver, request)
    received = Received()
    await driver.stream(model, received, include_usage=False)
    assert received.text == ["Hello", " world", "!"]
    assert received.usage is None
    assert "stream_options" not in upstream.requests_for(model)[-1].body


async def test_each_sdk_reaches_the_paths_and_credentials_it_would_use_for_real(
    upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    seen = {}
    for kind in DRIVERS:
        driver = kind(upstream)
        model = model_for(driver, request)
        await driver.stream(model, Received())
        seen[driver.name] = upstream.requests_for(model)[-1]
    assert seen["openai"].path == "/v1/chat/completions"
    assert seen["openai"].headers["authorization"] == "Bearer sk-fake"
    assert seen["anthropic"].path == "/v1/messages"
    # anthropic 2.12.0 sends even an API key as a bearer token, not in x-api-key.
    assert seen["anthropic"].headers["authorization"] == "Bearer sk-ant-fake"
    assert "anthropic-version" in seen["anthropic"].headers
    gemini_model = model_for(GeminiDriver(upstream), request)
    # google-genai 3.4.0 defaults to v1 (not v1beta) for the Developer API.
    assert seen["gemini"].path == f"/v1/models/{gemini_model}:streamGenerateContent"
    assert seen["gemini"].query == "alt=sse"
    assert seen["gemini"].headers["x-goog-api-key"] == "gemini-fake"


async def test_scripts_are_taken_in_order_and_the_last_one_repeats(
    upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    driver = OpenAIDriver(upstream)
    model = model_for(driver, request)
    upstream.script(model, Script(http_status=503), Script(chunks=["second"]))
    with pytest.raises(openai.InternalServerError):
        await driver.complete(model)
    assert await driver.complete(model) == "second"
    assert await driver.complete(model) == "second"
    upstream.script(model, Script(chunks=["third"]))
    assert await driver.complete(model) == "third"


async def test_delays_hold_back_the_first_chunk_and_space_the_rest(
    upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    driver = OpenAIDriver(upstream)
    model = model_for(driver, request)
    upstream.script(model, Script(chunks=["a", "b", "c"], first_chunk_delay=0.5, chunk_delay=0.1))
    arrivals: list[float] = []
    started = time.monotonic()
    async with driver.client() as client:
        stream = await client.chat.completions.create(
            model=model, messages=driver.messages(), stream=True
        )
        headers_after = time.monotonic() - started
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    arrivals.append(time.monotonic() - started)
    # Lower bounds only: the fake cannot send early, but a busy machine may deliver late.
    assert headers_after < 0.5  # the headers do not wait for the first chunk
    assert arrivals[0] >= 0.5
    assert arrivals[2] >= 0.5 + 2 * 0.1


async def test_stop_does_not_wait_out_a_stall() -> None:
    fake = FakeUpstream().start()
    driver = OpenAIDriver(fake)
    fake.script("stalled", Script(stall_after=1, stall_seconds=30))
    received = Received()
    failures: list[BaseException] = []

    async def read() -> None:
        try:
            await driver.stream("stalled", received)
        except openai.APIConnectionError as exc:
            failures.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        with anyio.fail_after(5):
            while not received.text:  # the stream is now held open by the stall
                await anyio.sleep(0.02)
        started = time.monotonic()
        await anyio.to_thread.run_sync(fake.stop)
        assert time.monotonic() - started < 3
    assert received.text == ["Hello"]
    assert len(failures) == 1  # the stalled stream was dropped, not finished
