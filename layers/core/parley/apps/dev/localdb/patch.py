"""The patch that makes moto's DynamoDB atomic per request, lean in its transactions and as
strict with numbers as DynamoDB (``parley.apps.dev.localdb`` says why), checked against the moto
installed."""

from __future__ import annotations

import copy
import functools
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from parley.apps.dev.localdb.backup import TransactionBackup
from parley.apps.dev.localdb.numbers import number_problem, request_numbers

if TYPE_CHECKING:
    from collections.abc import Callable

    from moto.dynamodb.models import DynamoDBBackend

__all__ = ["MotoChangedError", "check_transaction_backup", "patch_moto_dynamodb"]

_T = TypeVar("_T")


class MotoChangedError(RuntimeError):
    """The installed moto is not the one ``patch_moto_dynamodb`` was written against."""


# One request at a time through moto's DynamoDB, as DynamoDB applies each one atomically.
_REQUEST_LOCK = threading.Lock()
_PATCHING = threading.Lock()
_PATCHED: set[str] = set()


class _InTransaction(threading.local):
    """Whether this thread is inside a patched ``transact_write_items``: only there is a
    table handed back uncopied."""

    active = False


_in_transaction = _InTransaction()


def patch_moto_dynamodb() -> None:
    """Make moto's DynamoDB in this process atomic per request and lean in its transactions
    (the module's docstring says why and how). Idempotent; the patch is not undone."""
    import moto
    import moto.dynamodb.models as moto_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    with _PATCHING:
        if "dynamodb" in _PATCHED:
            return
        call_action = _moto_attribute(DynamoHandler, "call_action")
        transact_write_items = _moto_attribute(DynamoDBBackend, "transact_write_items")
        check_transaction_backup(transact_write_items)
        # The copy to stand in for is the module ``copy`` that moto's models call by that name.
        if vars(moto_models).get("copy") is not copy:
            raise MotoChangedError(
                f"moto {moto.__version__}: moto.dynamodb.models no longer calls the copy "
                "module as `copy`, so the table copy of its transactions cannot be skipped; "
                "review parley.apps.dev.localdb against the new moto."
            )
        _require_names(
            Table.__init__,
            {"items", "hash_key_attr", "range_key_attr", "stream_shard"},
            "Table no longer keeps its items and keys where TransactionBackup reads them",
        )

        @functools.wraps(call_action)
        def atomic_call_action(self: DynamoHandler) -> Any:
            refuse_numbers_dynamodb_refuses(getattr(self, "params", {}))
            with _REQUEST_LOCK:
                return call_action(self)

        @functools.wraps(transact_write_items)
        def lean_transact_write_items(
            self: DynamoDBBackend, transact_items: list[dict[str, Any]]
        ) -> None:
            backup = TransactionBackup.of(self, transact_items)
            _in_transaction.active = True
            try:
                transact_write_items(self, transact_items)
            except BaseException:
                # moto raises TransactionCanceledException (a condition failed) or a
                # validation error, having applied the items before the failing one.
                backup.restore()
                raise
            finally:
                _in_transaction.active = False

        # Assigned with setattr: mypy refuses assignments to methods.
        setattr(DynamoHandler, "call_action", atomic_call_action)  # noqa: B010
        setattr(DynamoDBBackend, "transact_write_items", lean_transact_write_items)  # noqa: B010
        setattr(moto_models, "copy", _CopyKeepingTables(Table))  # noqa: B010
        _PATCHED.add("dynamodb")


def refuse_numbers_dynamodb_refuses(params: Any) -> None:
    """Raise DynamoDB's ValidationException for a number in the request it would refuse
    (``parley.apps.dev.localdb.numbers``): moto itself stores them."""
    from moto.dynamodb.exceptions import MockValidationException

    for text in request_numbers(params):
        problem = number_problem(text)
        if problem is not None:
            raise MockValidationException(problem)


def check_transaction_backup(transact_write_items: Callable[..., Any]) -> None:
    """Raise ``MotoChangedError`` unless ``transact_write_items`` still backs its tables up
    with ``copy.deepcopy(self.tables[...])``, the copy the patch makes a no-op."""
    _require_names(
        transact_write_items,
        {"copy", "deepcopy", "tables"},
        "DynamoDBBackend.transact_write_items no longer backs tables up with "
        "copy.deepcopy(self.tables[name])",
    )


def _moto_attribute(owner: type, name: str) -> Callable[..., Any]:
    import moto

    found: Callable[..., Any] | None = vars(owner).get(name)
    if not callable(found):
        raise MotoChangedError(
            f"moto {moto.__version__}: {owner.__name__}.{name} is gone; review "
            "parley.apps.dev.localdb against the new moto."
        )
    return found


def _require_names(function: Callable[..., Any], names: set[str], change: str) -> None:
    import moto

    code = getattr(function, "__code__", None)
    used = set(code.co_names) if code is not None else set()
    if not names <= used:
        raise MotoChangedError(
            f"moto {moto.__version__}: {change} (missing {sorted(names - used)}); "
            "parley.apps.dev.localdb's patch was written for moto 5.2.5: review it against the "
            "new moto."
        )


class _CopyKeepingTables:
    """Stands in for the ``copy`` module inside moto.dynamodb.models: during a patched
    transaction ``deepcopy`` returns a Table itself (the whole-table backup, replaced by
    ``TransactionBackup``); everything else is copied as the copy module copies it."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: _T, memo: dict[int, Any] | None = None) -> _T:
        if _in_transaction.active and isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)
