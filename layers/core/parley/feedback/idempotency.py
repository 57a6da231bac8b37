"""A feedback submission stored once, however often it is sent: Powertools Idempotency
(``idempotent_function``) with its DynamoDB persistence layer on the IdempotencyTable.

The key is the ``Idempotency-Key`` header when the client sends one, else the canonical
submission itself, and always the caller's org and user with it: two users' identical keys or
submissions never meet. The submission is the validated payload too, so the same key with
another body is refused (422) instead of answered with the first body's record. Powertools
keeps the first response for ``expires_after_seconds`` and returns it to every retry (the same
``feedback_id``, nothing stored again); a retry while the first is still running is 409; a
submission that fails (a 404, say) deletes its record, so a corrected retry runs.

Powertools limits an in-progress record to the Lambda invocation's remaining time, read from
the Lambda context (Mangum puts it at ``scope["aws.context"]``). Outside Lambda a stand-in
deadline of ``LOCAL_DEADLINE_SECONDS`` plays that part, so a process that dies mid-submission
blocks its key for seconds, not for the whole expiry.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from parley.http.idempotency_key import IdempotencyInProgress, IdempotencyKeyReused
from parley.state.idempotency_table import persistence_error, persistence_layer

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["LOCAL_DEADLINE_SECONDS", "FeedbackIdempotency"]

# The feedback function's timeout (template.yaml): no submission outlives it.
LOCAL_DEADLINE_SECONDS = 30.0
# Stable across deployments and function names: a record means the same wherever it is read.
_KEY_PREFIX = "parley.feedback.submit"


class _LocalDeadline:
    """What Powertools reads from a Lambda context: the time left in this request."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Replayed(dict[str, Any]):
    """A response Powertools returned from its store rather than from running the function."""


def _mark_replay(response: Any, idempotent_data: DataRecord) -> Any:
    return _Replayed(response) if isinstance(response, dict) else response


class FeedbackIdempotency:
    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        expires_after_seconds: int = 86_400,
    ) -> None:
        self._table_name = table_name
        self._layer = persistence_layer(table_name, client=client)
        self._expires_after_seconds = expires_after_seconds

    def run(
        self,
        submit: Callable[[], dict[str, Any]],
        *,
        org_id: str,
        user_id: str,
        key: str | None,
        submission: dict[str, Any],
        lambda_context: object | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """``submit()``'s response, or the first response for this key; and whether it was
        replayed. Blocking (boto3): call it from a worker thread."""
        from aws_lambda_powertools.utilities.idempotency import (
            IdempotencyConfig,
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        # One config per call: it holds this invocation's context, and requests may overlap
        # in one process (``parley dev``). Every call configures the layer identically.
        config = IdempotencyConfig(
            event_key_jmespath="[org, user, key || submission]",
            payload_validation_jmespath="submission",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expires_after_seconds,
            hash_function="sha256",
            response_hook=_mark_replay,
        )
        context = lambda_context or _LocalDeadline(LOCAL_DEADLINE_SECONDS)
        config.register_lambda_context(cast("LambdaContext", context))

        def store(request: dict[str, Any]) -> dict[str, Any]:
            return submit()

        guarded = idempotent_function(
            store,
            data_keyword_argument="request",
            persistence_store=self._layer,
            config=config,
            key_prefix=_KEY_PREFIX,
        )
        request = {"org": org_id, "user": user_id, "key": key, "submission": submission}
        try:
            response = guarded(request=request)
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused() from exc
        except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as exc:
            raise IdempotencyInProgress(retry_after=1.0) from exc
        except IdempotencyPersistenceLayerError as exc:
            raise persistence_error(exc, self._table_name) from exc
        return dict(response), isinstance(response, _Replayed)
