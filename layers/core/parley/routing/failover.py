"""Keep answering when a provider breaks: a route's chain tried model by model.

For each model of the chain, in order: ask its circuit breaker (a model that keeps failing is
skipped without a call), stream from it, and on failure

- before its first token: retry it with backoff while ``RetryPolicy`` says it is worth it
  (429, 5xx, timeouts, broken streams; never a refusal), then move on to the next model. The
  client notices nothing but the wait;
- after its first token: move on to the next model with the partial answer, asking it to
  continue from where the text stopped, and yield a ``Switch`` just before the first token of
  the model that takes over, so the client can show the seam.

What a request asked the answer's shape to be is checked before the client sees it
(``parley.routing.output_check``): tool calls are held until the attempt is complete and each
must have arguments that are a JSON object, and a structured answer (``response_format``) is
held whole (yielded as ``Held`` progress) until it parses and follows its schema. A stream
that breaks inside a tool call or a held answer has given the client nothing of it, so the
next attempt starts that part again: it never resumes inside a call's arguments. An answer
of the wrong shape is that model's failure (``OutputRejected``), and the chain goes on.

Timeouts: ``first_token_timeout_seconds`` per attempt until its first token, then
``idle_timeout_seconds`` between tokens; no attempt starts once ``budget_seconds`` have passed
without a token reaching the client; the whole answer is bounded by ``max_stream_seconds``.
Connect timeouts are the adapters' (``ProviderTimeouts``).

Every attempt is appended to the caller's list as it starts, so whatever happens (success,
failure, the client leaving and this generator being closed) the caller has each call to
record and charge. When every model failed, the last failure is raised, with the attempts in
its details; the client never gets an empty success.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from contextlib import aclosing
from typing import TYPE_CHECKING

from parley.providers.base import (
    ChatMessage,
    Finish,
    GenerationRequest,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)
from parley.providers.errors import ProviderError, ProviderTimeout, ProviderUnavailable
from parley.providers.tokens import estimate_tokens
from parley.routing.attempts import Attempt, Held, Switch
from parley.routing.output_check import OutputCheck
from parley.routing.retry import RetryPolicy, counts_against_model
from parley.routing.tool_calls import ToolCallAssembly
from parley.text import is_valid_text, repair_text

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable

    from parley.providers.base import StreamEvent
    from parley.providers.catalog import ModelSpec
    from parley.providers.registry import ProviderRegistry
    from parley.routing.breaker import CircuitBreaker, Permit
    from parley.routing.plan import Route

__all__ = ["CONTINUE_PROMPT", "CircuitOpen", "Failover", "Output", "breaker_key"]

CONTINUE_PROMPT = (
    "Your previous reply was cut off. Continue it from exactly where it stopped: do not "
    "repeat any of it, do not comment on the interruption."
)
# A continuation gets at least this many tokens, even when the cut answer used most of the
# route's budget: ending a sentence is better than ending mid-word.
_MIN_CONTINUATION_TOKENS = 64


# What the engine yields, in order: text (or held progress) and switches, the tool calls,
# then one Finish.
Output = TextDelta | Held | ToolCall | Switch | Finish


class CircuitOpen(ProviderUnavailable):
    """Every model left was skipped by its circuit breaker."""

    status = 503
    code = "model_unavailable"
    default_message = "The models of this route are failing; retry shortly."


def breaker_key(spec: ModelSpec) -> str:
    """Circuits are per provider and model (a catalog name stands for both)."""
    return f"{spec.provider}:{spec.name}"


class Failover:
    def __init__(
        self,
        registry: ProviderRegistry,
        breaker: CircuitBreaker,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._registry = registry
        self._breaker = breaker
        self._policy = policy or RetryPolicy()
        self._sleep = sleep

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    async def stream(
        self, route: Route, request: GenerationRequest, attempts: list[Attempt]
    ) -> AsyncGenerator[Output, None]:
        """Text deltas (and ``Switch``es, ``Held`` progress) as the client should see them,
        the tool calls, then the last attempt's ``Finish``. Raises the last ProviderError
        when every model failed."""
        run = _Run(self._policy, route, request)
        for spec in route.chain:
            if not run.may_start():
                break
            permit = await self._breaker.allow(breaker_key(spec))
            retry = 0
            while permit.allowed:
                attempt = run.new_attempt(spec, probe=permit.probe)
                attempts.append(attempt)
                try:
                    async with aclosing(self._attempt(attempt, run)) as events:
                        async for event in events:
                            yield event
                except ProviderError as exc:
                    attempt.error, attempt.ended = exc, time.perf_counter()
                    run.failed(attempt, exc)
                    if counts_against_model(exc):
                        await self._breaker.record(
                            breaker_key(spec), success=False, probe=attempt.probe
                        )
                    # A broken stream continues elsewhere; a failed probe has reopened the
                    # circuit. Otherwise the same model may be worth another try.
                    retrying = not attempt.produced and not attempt.probe
                    wait = self._wait(retry, exc, run) if retrying else None
                    if wait is None:
                        break  # on to the next model
                    await self._sleep(wait)
                    retry += 1
                    permit = await self._breaker.allow(breaker_key(spec))
                    continue
                attempt.ended = time.perf_counter()
                await self._breaker.record(breaker_key(spec), success=True, probe=attempt.probe)
                assert attempt.finish is not None
                yield attempt.finish
                return
            else:  # the loop ended because the breaker refused (not by `break`)
                run.skipped(spec, permit)
        raise run.exhausted(attempts)

    async def _attempt(
        self, attempt: Attempt, run: _Run
    ) -> AsyncGenerator[TextDelta | Held | ToolCall | Switch, None]:
        """One call: its text as it arrives (held, when it is checked whole), then its tool
        calls once it is complete and checked, under the attempt's timeouts."""
        spec = attempt.spec
        stream = self._registry.provider_for(spec).stream(spec, attempt.request)
        loop = asyncio.get_running_loop()
        first_by = min(loop.time() + self._policy.first_token_timeout_seconds, run.stream_by)
        if not run.delivered:
            first_by = min(first_by, run.first_token_by)
        calls = ToolCallAssembly()
        holds = run.check.holds_text
        async with aclosing(stream):
            while True:
                deadline = first_by
                if attempt.produced or attempt.called:
                    deadline = min(loop.time() + self._policy.idle_timeout_seconds, run.stream_by)
                event = await _next(stream, deadline, attempt, run)
                if event is None:
                    break
                if isinstance(event, TextDelta):
                    for output in _on_text(event, attempt, run, holds=holds):
                        yield output
                elif isinstance(event, ToolCallDelta):
                    _first_output(attempt)
                    attempt.called = True
                    calls.add(event)
                else:
                    attempt.finish = event
        if attempt.finish is None:
            raise ProviderError(
                f"{spec.provider} ended its stream without finishing.",
                provider=spec.provider,
                model=spec.name,
            )
        for released in self._released(attempt, run, calls):
            yield released

    def _released(
        self, attempt: Attempt, run: _Run, calls: ToolCallAssembly
    ) -> list[TextDelta | ToolCall | Switch]:
        """What a complete attempt gives the client once checked: a held answer's text
        (raising OutputRejected when it has the wrong shape), then its tool calls."""
        spec = attempt.spec
        released: list[TextDelta | ToolCall | Switch] = []
        if run.check.holds_text:
            text = "".join(attempt.produced)
            checked = run.check.checked_text(text, spec)
            pieces = attempt.produced if checked == text else [checked]
            for piece in pieces:
                run.deliver(piece)
                released.append(TextDelta(piece))
        made = calls.calls()
        run.check.check_calls(made, spec)
        if made and not attempt.produced:
            switch = run.switch_to(spec)  # an answer of calls only still names its model
            if switch is not None:
                released.insert(0, switch)
        released.extend(made)
        return released

    def _wait(self, retry: int, error: ProviderError, run: _Run) -> float | None:
        wait = self._policy.wait_before_retry(retry, error)
        if wait is None or not run.may_start(after=wait):
            return None
        return wait


class _Run:
    """The state of one request across its attempts."""

    def __init__(self, policy: RetryPolicy, route: Route, request: GenerationRequest) -> None:
        self._policy = policy
        self._route = route
        self._request = request.with_valid_text()
        self.check = OutputCheck(request)
        loop = asyncio.get_running_loop()
        self._loop = loop
        start = loop.time()
        self.first_token_by = start + policy.budget_seconds
        self.stream_by = start + policy.max_stream_seconds
        self.delivered: list[str] = []
        self._token_events = 0
        self._number = 0
        self._last_error: ProviderError | None = None
        self._skipped: list[tuple[ModelSpec, Permit]] = []
        # The model whose stream broke after delivering text, until another takes over.
        self._broken: tuple[ModelSpec, str] | None = None

    def may_start(self, after: float = 0.0) -> bool:
        at = self._loop.time() + after
        return at < (self.stream_by if self.delivered else self.first_token_by)

    def new_attempt(self, spec: ModelSpec, *, probe: bool) -> Attempt:
        attempt = Attempt(
            number=self._number,
            spec=spec,
            request=self._request_for(spec),
            failover=self._number > 0,
            probe=probe,
        )
        self._number += 1
        return attempt

    def deliver(self, text: str) -> None:
        self.delivered.append(text)
        self._token_events += 1

    def failed(self, attempt: Attempt, error: ProviderError) -> None:
        self._last_error = error
        if attempt.produced:
            self._broken = (attempt.spec, error.code)

    def skipped(self, spec: ModelSpec, permit: Permit) -> None:
        self._skipped.append((spec, permit))

    def switch_to(self, spec: ModelSpec) -> Switch | None:
        if self._broken is None:
            return None
        source, reason = self._broken
        self._broken = None
        return Switch(source=source, target=spec, reason=reason, after_tokens=self._token_events)

    def timed_out(self, attempt: Attempt) -> ProviderTimeout:
        spec, now = attempt.spec, self._loop.time()
        if now >= self.stream_by:
            limit = self._policy.max_stream_seconds
            message = f"The answer took longer than the {limit:g} s limit."
        elif attempt.produced:
            message = f"{spec.provider} sent nothing for {self._policy.idle_timeout_seconds:g} s."
        else:
            message = f"{spec.provider} sent no first token in time."
        return ProviderTimeout(message, provider=spec.provider, model=spec.name)

    def exhausted(self, attempts: list[Attempt]) -> ProviderError:
        tried = [
            {"model": a.spec.name, "error": a.error.code if a.error else None} for a in attempts
        ]
        tried += [{"model": spec.name, "error": "circuit_open"} for spec, _ in self._skipped]
        error = self._last_error
        if error is None and self._skipped:
            wait = min(permit.retry_after_seconds for _, permit in self._skipped)
            error = CircuitOpen(retry_after=max(1.0, wait))
        elif error is None:
            error = ProviderTimeout("No model answered within the request's time budget.")
        error.details = {"attempts": tried}
        return error

    def _request_for(self, spec: ModelSpec) -> GenerationRequest:
        budget = self._route.max_tokens
        if not self.delivered:
            return dataclasses.replace(
                self._request, max_tokens=min(budget, spec.max_output_tokens)
            )
        partial = "".join(self.delivered)
        left = max(_MIN_CONTINUATION_TOKENS, budget - estimate_tokens(partial))
        return dataclasses.replace(
            self._request,
            messages=[
                *self._request.messages,
                ChatMessage("assistant", partial),
                ChatMessage("user", CONTINUE_PROMPT),
            ],
            max_tokens=min(left, spec.max_output_tokens),
        )


def _on_text(
    event: TextDelta, attempt: Attempt, run: _Run, *, holds: bool
) -> list[TextDelta | Held | Switch]:
    """What one text delta gives the client: the text (held, when the answer is checked
    whole), after the seam of a switch when another model's stream broke before it."""
    if not event.text:
        return []
    # A model's text goes on to the client, the conversation and the next model's prompt:
    # text that cannot be encoded must not (a provider decoding an escaped lone surrogate).
    text = event.text if is_valid_text(event.text) else repair_text(event.text)
    _first_output(attempt)
    outputs: list[TextDelta | Held | Switch] = []
    switch = run.switch_to(attempt.spec)
    if switch is not None:
        outputs.append(switch)
    attempt.produced.append(text)
    if holds:
        outputs.append(Held(text))
    else:
        run.deliver(text)
        outputs.append(TextDelta(text))
    return outputs


def _first_output(attempt: Attempt) -> None:
    if attempt.ttft_ms is None:
        attempt.ttft_ms = round((time.perf_counter() - attempt.started) * 1000, 2)


async def _next(
    stream: AsyncGenerator[StreamEvent, None],
    deadline: float,
    attempt: Attempt,
    run: _Run,
) -> StreamEvent | None:
    """The stream's next event before ``deadline``; None at its end."""
    try:
        async with asyncio.timeout_at(deadline):
            return await anext(stream)
    except StopAsyncIteration:
        return None
    except TimeoutError as exc:
        raise run.timed_out(attempt) from exc
