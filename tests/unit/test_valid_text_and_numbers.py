"""The shared checks that keep bad input out at the edges: text that encodes as UTF-8 (request
bodies, requests to providers), and values DynamoDB can store (the item encoder)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from parley.errors import ValidationFailed
from parley.http.json_body import check_json_body, is_json_media_type
from parley.providers.base import ChatMessage, GenerationRequest
from parley.state.items import UnstorableValue, from_item, to_item
from parley.text import is_valid_text, repair_text

LONE = "\ud800"


def test_valid_text_is_text_without_surrogates() -> None:
    assert is_valid_text("plain ascii")
    assert is_valid_text("café 😀 ✓")
    assert not is_valid_text(f"hi {LONE} there")
    assert not is_valid_text("\udfff")
    assert repair_text(f"a{LONE}b\udc00") == "a\ufffdb\ufffd"
    assert repair_text("café") == "café"


@pytest.mark.parametrize(
    "body",
    [
        b'{"message": "hi"}',
        '{"message": "café 😀"}'.encode(),
        b'{"message": "a pair \\ud83d\\ude00 is fine"}',
        b'{"message": "an escaped backslash \\\\ud800 is text"}',
        b'{"message": "NaN and Infinity are words here"}',
        b"not json at all",  # left to the route, which says where it broke
    ],
)
def test_bodies_that_are_standard_json_with_valid_text_pass(body: bytes) -> None:
    check_json_body(body)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"message": "hi \\ud800 there"}', ["body", "message"]),
        (b'{"a": [1, {"b": "\\udc00"}]}', ["body", "a", 1, "b"]),
        (b'{"\\ud800": 1}', ["body", "\ufffd"]),
        (b'{"x": NaN}', ["body"]),
        (b'{"x": -Infinity}', ["body"]),
        (b'{"x": "\xed\xa0\x80"}', ["body"]),  # the UTF-8 bytes of a surrogate
        (b'{"x": "\xff"}', ["body"]),
    ],
)
def test_bodies_python_would_read_but_nothing_after_can_use_are_refused(
    body: bytes, where: list[Any]
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_json_body(body)
    assert refused.value.details[0]["loc"] == where
    json.dumps(refused.value.body(), ensure_ascii=False).encode()  # the answer itself encodes


def test_json_media_types_are_those_fastapi_parses() -> None:
    assert is_json_media_type("application/json")
    assert is_json_media_type("application/json; charset=utf-8")
    assert is_json_media_type("application/merge-patch+json")
    assert not is_json_media_type("text/plain")
    assert not is_json_media_type("multipart/form-data; boundary=x")


def test_a_generation_request_is_repaired_only_when_it_must_be() -> None:
    fine = GenerationRequest(messages=[ChatMessage("user", "hello")], system="Be brief.")
    assert fine.with_valid_text() is fine
    broken = GenerationRequest(
        messages=[ChatMessage("user", f"old {LONE} history"), ChatMessage("user", "new")],
        system=f"sys{LONE}",
        max_tokens=7,
    )
    repaired = broken.with_valid_text()
    assert [m.content for m in repaired.messages] == ["old \ufffd history", "new"]
    assert repaired.system == "sys\ufffd"
    assert repaired.max_tokens == 7


def test_what_dynamodb_can_store_round_trips() -> None:
    values = {"f": 0.1, "i": 10**37, "tiny": 1e-100, "ratio": 12345.678, "nested": {"l": [1, 2.5]}}
    assert from_item(to_item(values)) == values


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (float("nan"), ["v"]),
        (float("inf"), ["v"]),
        (Decimal("NaN"), ["v"]),
        (1e300, ["v"]),
        (1e-200, ["v"]),
        (1e-131, ["v"]),  # boto3 takes it (subnormal); DynamoDB does not
        (10**40, ["v"]),
        ({"style": 1e130}, ["v", "style"]),
        ([1, [2, 10**39]], ["v", 1, 1]),
        ({"text": f"x{LONE}"}, ["v", "text"]),
        ({LONE: 1}, ["v"]),
    ],
)
def test_the_item_encoder_refuses_what_dynamodb_cannot_store(value: Any, where: list[Any]) -> None:
    with pytest.raises(UnstorableValue) as refused:
        to_item({"v": value})
    assert refused.value.status == 422
    assert refused.value.details[0]["loc"] == where
