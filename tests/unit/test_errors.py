"""The error hierarchy: statuses, public codes, retryability and headers."""

from __future__ import annotations

import pytest

from parley import errors


@pytest.mark.parametrize(
    ("error", "status", "code", "retryable"),
    [
        (errors.BadRequest(), 400, "bad_request", False),
        (errors.Unauthorized(), 401, "unauthorized", False),
        (errors.PaymentRequired(), 402, "insufficient_balance", False),
        (errors.Forbidden(), 403, "forbidden", False),
        (errors.NotFound(), 404, "not_found", False),
        (errors.Conflict(), 409, "conflict", False),
        (errors.PreconditionFailed(), 412, "precondition_failed", False),
        (errors.PayloadTooLarge(), 413, "payload_too_large", False),
        (errors.ValidationFailed(), 422, "invalid_request", False),
        (errors.RateLimited(), 429, "rate_limited", True),
        (errors.UpstreamError(), 502, "upstream_error", True),
        (errors.ServiceUnavailable(), 503, "service_unavailable", True),
        (errors.UpstreamTimeout(), 504, "upstream_timeout", True),
        (errors.ConfigurationError(), 500, "configuration_error", False),
        (errors.ParleyError(), 500, "internal_error", False),
    ],
)
def test_each_error_knows_its_status_code_and_retryability(
    error: errors.ParleyError, status: int, code: str, retryable: bool
) -> None:
    assert (error.status, error.code, error.retryable) == (status, code, retryable)
    body = error.body()["error"]
    assert body == {"code": code, "message": error.message, "retryable": retryable}
    assert body["message"]  # every error has a default message for the client


def test_every_public_error_is_exported() -> None:
    exported = {getattr(errors, name) for name in errors.__all__}
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.ParleyError)
    }
    assert defined == exported


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert errors.RateLimited(retry_after=0.1).headers() == {"Retry-After": "1"}
    assert errors.RateLimited(retry_after=4.01).headers() == {"Retry-After": "5"}


def test_unauthorized_tells_the_client_how_to_authenticate() -> None:
    assert errors.Unauthorized().headers()["WWW-Authenticate"].startswith("Bearer")


def test_details_are_included_only_when_given() -> None:
    assert "details" not in errors.BadRequest("x").body()["error"]
    assert errors.BadRequest("x", details=[1]).body()["error"]["details"] == [1]


def test_instances_may_carry_a_status_chosen_elsewhere() -> None:
    error = errors.ParleyError(
        "nope", status=405, code="method_not_allowed", headers={"Allow": "GET"}
    )
    assert (error.status, error.code, error.headers()) == (
        405,
        "method_not_allowed",
        {"Allow": "GET"},
    )
    assert errors.ParleyError().status == 500  # the class default is untouched
