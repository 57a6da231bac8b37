"""The chat's refusals before the stream, as EMF: a rate limit's, the balance's and the spend
cap's, each the inventory's metric with its dimensions (parley.metrics_catalog; the other
metrics are run in tests/unit/test_metrics_catalog.py). The app in-process, on memory stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.test_chat_budget import patch_settings
from tests.support.chat import stream_chat
from tests.support.emf import assert_declared, emf_documents, emitted

if TYPE_CHECKING:
    from tests.support.chat import MemoryChat

pytestmark = pytest.mark.anyio


def refusals(stdout: str, metric: str) -> list[dict[str, str]]:
    documents = [d for d in emf_documents(stdout) if metric in d]
    assert_declared(emitted(documents))
    return [{key: d[key] for key in ("service", "scope", "reason") if key in d} for d in documents]


async def test_a_rate_limited_request_is_counted_by_its_scope(
    chat: MemoryChat, capsys: pytest.CaptureFixture[str]
) -> None:
    await patch_settings(chat, {"rate_limits": {"user_per_minute": 1, "org_per_minute": 0}})
    await stream_chat(chat, {"message": "Hi"}, org="acme")
    capsys.readouterr()
    refused = await stream_chat(chat, {"message": "Hi"}, org="acme")
    assert refused.status == 429
    assert refusals(capsys.readouterr().out, "RateLimitRefusals") == [
        {"service": "parley", "scope": "user"}
    ]


async def test_the_balance_and_the_spend_cap_are_counted_as_refusals_before_the_stream(
    chat: MemoryChat, capsys: pytest.CaptureFixture[str]
) -> None:
    chat.stores.ledger.grant("poor", 1)
    capsys.readouterr()
    assert (await stream_chat(chat, {"message": "Hi"}, org="poor")).status == 402
    assert refusals(capsys.readouterr().out, "GuardRefusals") == [
        {"service": "parley", "reason": "insufficient_balance"}
    ]
    await patch_settings(chat, {"daily_spend_cap_usd": 0.01})
    capsys.readouterr()
    capped = await stream_chat(chat, {"message": "Hi", "max_tokens": 2000}, org="acme")
    assert capped.status == 429
    assert refusals(capsys.readouterr().out, "GuardRefusals") == [
        {"service": "parley", "reason": "spend_cap_reached"}
    ]
