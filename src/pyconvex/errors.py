"""The error taxonomy of pyconvex.

Every error pyconvex raises on purpose carries a stable CamelCase ``short`` tag
(what tests and clients match on) and a human ``message`` that follows Convex's
wording where Convex has one, so apps written against Convex keep working.

Exception tree::

    Exception
    ├── ConvexError                      raised by app code; carries ``data`` to the caller
    └── PyConvexError                    every error raised by pyconvex itself
        ├── InvalidValueError            not a Convex value, too big, too nested, bad field name
        ├── ValidationError              a value failed a ``v.*`` validator
        │   ├── ArgumentValidationError  function arguments (function body not run)
        │   ├── ReturnsValidationError   function return value
        │   └── SchemaValidationError    a document written to a schema table
        ├── InvalidIdError               "Unable to decode ID"
        ├── SchemaError                  an invalid schema definition or a refused schema change
        ├── QueryError                   misuse of the query API (index ranges, filters, order)
        ├── InvalidCursorError           a pagination cursor from another query
        ├── DocumentError                writes to missing documents, system fields, system tables
        ├── TransactionLimitError        too many reads or writes in one transaction
        ├── OptimisticConcurrencyControlFailure   conflicts on every retry
        ├── ExecutionTimeoutError        a query or mutation ran for too long
        ├── NondeterminismError          network or real randomness used in a query or mutation
        ├── SchedulerError               ctx.scheduler misuse: bad time, missing target, limits
        ├── CronJobError                 an invalid cron job definition in crons.py
        └── FunctionNotFoundError        no function at the requested path
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArgumentValidationError",
    "ConvexError",
    "CronJobError",
    "DocumentError",
    "ExecutionTimeoutError",
    "FunctionNotFoundError",
    "InvalidCursorError",
    "InvalidIdError",
    "InvalidValueError",
    "NondeterminismError",
    "OptimisticConcurrencyControlFailure",
    "PyConvexError",
    "QueryError",
    "ReturnsValidationError",
    "SchemaError",
    "SchedulerError",
    "SchemaValidationError",
    "TransactionLimitError",
    "ValidationError",
]


class ConvexError(Exception):
    """An application error that carries structured ``data`` to the caller.

    Raise it from a query, mutation or action; ``data`` (any Convex value)
    reaches clients intact, with int64 and bytes preserved.
    """

    def __init__(self, data: Any = None) -> None:
        self.data = data
        super().__init__(data if isinstance(data, str) else repr(data))


class PyConvexError(Exception):
    """Base class of every error that pyconvex raises itself."""

    short = "PyConvexError"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidValueError(PyConvexError):
    """A value is not a Convex value or breaks a size, nesting or naming limit."""

    short = "InvalidValue"


class ValidationError(PyConvexError):
    """A value does not match a validator."""

    short = "ValidationError"


class ArgumentValidationError(ValidationError):
    """Function arguments do not match the function's ``args`` validator."""

    short = "ArgumentValidationError"


class ReturnsValidationError(ValidationError):
    """A function's result does not match its ``returns`` validator."""

    short = "ReturnsValidationError"


class SchemaValidationError(ValidationError):
    """A document written to a schema table does not match the table's validator."""

    short = "SchemaValidationError"


class InvalidIdError(PyConvexError):
    """A string is not a valid document ID."""

    short = "InvalidId"


class SchemaError(PyConvexError):
    """A schema definition is invalid, or existing data does not fit a new schema."""

    short = "SchemaError"


class QueryError(PyConvexError):
    """The query API was used wrongly (index ranges, filters, order, terminals)."""

    short = "InvalidQuery"


class InvalidCursorError(PyConvexError):
    """A pagination cursor is malformed or belongs to a different query."""

    short = "InvalidCursor"


class DocumentError(PyConvexError):
    """A write refers to a missing document, a system field or a system table."""

    short = "InvalidDocumentWrite"


class TransactionLimitError(PyConvexError):
    """A transaction read or wrote more than its limits allow."""

    short = "TransactionLimitExceeded"


class OptimisticConcurrencyControlFailure(PyConvexError):
    """A mutation conflicted with concurrent commits on every attempt."""

    short = "OptimisticConcurrencyControlFailure"


class ExecutionTimeoutError(PyConvexError):
    """A query or mutation ran longer than its execution time limit."""

    short = "FunctionTimeout"


class NondeterminismError(PyConvexError):
    """A query or mutation tried something only actions may do (network access)."""

    short = "NondeterministicOperation"


class SchedulerError(PyConvexError):
    """A function could not be scheduled or canceled (bad time, missing target, limits)."""

    short = "InvalidScheduledFunction"


class CronJobError(PyConvexError):
    """A cron job in ``crons.py`` is invalid (schedule, name, target or arguments)."""

    short = "InvalidCronJob"


class FunctionNotFoundError(PyConvexError):
    """No function is registered at the requested path."""

    short = "FunctionNotFound"
