"""Every tunable limit of pyconvex, with Convex's defaults.

Each knob can be overridden with an environment variable ``PYCONVEX_<NAME>``
read once at import. Units are in the names.
"""

from __future__ import annotations

import os

__all__ = [
    "ACTION_CONCURRENCY",
    "ACTION_TIMEOUT_SECONDS",
    "ARRAY_MAX_ELEMENTS",
    "CATCH_UP_TIMEOUT_SECONDS",
    "COMMIT_BATCH_MAX",
    "DOCUMENT_MAX_NESTING",
    "FUNCTION_ARGS_MAX_BYTES",
    "FUNCTION_MAX_NESTING",
    "INDEX_MAX_FIELDS",
    "INLINE_PREEMPT_SECONDS",
    "MUTATION_CONCURRENCY",
    "OBJECT_MAX_FIELDS",
    "OCC_INITIAL_BACKOFF_SECONDS",
    "OCC_MAX_BACKOFF_SECONDS",
    "OCC_MAX_RETRIES",
    "PAGINATION_MAX_ITEMS",
    "POSTGRES_CONNECT_TIMEOUT_SECONDS",
    "POSTGRES_POLL_SECONDS",
    "POSTGRES_POOL_MAX",
    "POSTGRES_POOL_MIN",
    "QUERY_CONCURRENCY",
    "TRANSACTION_MAX_READ_BYTES",
    "TRANSACTION_MAX_READ_INTERVALS",
    "TRANSACTION_MAX_READ_ROWS",
    "TRANSACTION_MAX_WRITE_BYTES",
    "TRANSACTION_MAX_WRITE_DOCUMENTS",
    "UDF_USER_TIMEOUT_SECONDS",
    "VALUE_MAX_BYTES",
    "WRITE_LOG_RETENTION_SECONDS",
]


def _int(name: str, default: int) -> int:
    raw = os.environ.get(f"PYCONVEX_{name}")
    return int(raw) if raw is not None else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(f"PYCONVEX_{name}")
    return float(raw) if raw is not None else default


#: Largest document or value, measured as Convex measures it (bytes).
VALUE_MAX_BYTES = _int("VALUE_MAX_BYTES", 1 << 20)
#: Deepest nesting of a stored document.
DOCUMENT_MAX_NESTING = _int("DOCUMENT_MAX_NESTING", 16)
#: Deepest nesting of function arguments and return values.
FUNCTION_MAX_NESTING = _int("FUNCTION_MAX_NESTING", 64)
#: Largest array.
ARRAY_MAX_ELEMENTS = _int("ARRAY_MAX_ELEMENTS", 8192)
#: Most fields in one object.
OBJECT_MAX_FIELDS = _int("OBJECT_MAX_FIELDS", 1024)
#: Largest function argument (bytes).
FUNCTION_ARGS_MAX_BYTES = _int("FUNCTION_ARGS_MAX_BYTES", 16 << 20)
#: Most fields in one index, the implicit ``_creationTime`` included.
INDEX_MAX_FIELDS = _int("INDEX_MAX_FIELDS", 16)

#: Documents a query or mutation may scan (filtered-out rows count).
TRANSACTION_MAX_READ_ROWS = _int("TRANSACTION_MAX_READ_ROWS", 32_000)
#: Bytes a query or mutation may read.
TRANSACTION_MAX_READ_BYTES = _int("TRANSACTION_MAX_READ_BYTES", 16 << 20)
#: Index ranges (``db.get`` and ``db.query`` calls) one transaction may read.
TRANSACTION_MAX_READ_INTERVALS = _int("TRANSACTION_MAX_READ_INTERVALS", 4096)
#: Documents one mutation may write.
TRANSACTION_MAX_WRITE_DOCUMENTS = _int("TRANSACTION_MAX_WRITE_DOCUMENTS", 16_000)
#: Bytes one mutation may write.
TRANSACTION_MAX_WRITE_BYTES = _int("TRANSACTION_MAX_WRITE_BYTES", 16 << 20)
#: Largest ``numItems`` in one page.
PAGINATION_MAX_ITEMS = _int("PAGINATION_MAX_ITEMS", 32_000)

#: OCC retries after the first attempt (Convex: 4, so 5 attempts).
OCC_MAX_RETRIES = _int("OCC_MAX_RETRIES", 4)
#: First backoff after an OCC conflict; doubles each retry, with jitter.
OCC_INITIAL_BACKOFF_SECONDS = _float("OCC_INITIAL_BACKOFF_SECONDS", 0.1)
#: Longest backoff between OCC retries.
OCC_MAX_BACKOFF_SECONDS = _float("OCC_MAX_BACKOFF_SECONDS", 2.0)

#: User-code time limit of one query or mutation execution (database time excluded).
UDF_USER_TIMEOUT_SECONDS = _float("UDF_USER_TIMEOUT_SECONDS", 1.0)
#: Queries that may run at the same time (worker threads).
QUERY_CONCURRENCY = _int("QUERY_CONCURRENCY", 32)
#: Mutations that may run at the same time (worker threads).
MUTATION_CONCURRENCY = _int("MUTATION_CONCURRENCY", 32)

#: Most transactions written to storage in one group commit.
COMMIT_BATCH_MAX = _int("COMMIT_BATCH_MAX", 256)
#: How long commits stay in the in-memory write log used for OCC checks.
WRITE_LOG_RETENTION_SECONDS = _float("WRITE_LOG_RETENTION_SECONDS", 60.0)
#: Actions that may run at the same time (worker threads).
ACTION_CONCURRENCY = _int("ACTION_CONCURRENCY", 64)
#: Wall-clock limit of one action (Convex runtime: 30 minutes; Node actions: 10).
ACTION_TIMEOUT_SECONDS = _float("ACTION_TIMEOUT_SECONDS", 600.0)
#: How long a query or mutation may hold its caller's event loop before it is moved
#: to a worker thread (it then runs there from the start, with the full time limit).
INLINE_PREEMPT_SECONDS = _float("INLINE_PREEMPT_SECONDS", 0.01)

#: PostgreSQL storage: connections each process keeps open in its pool.
POSTGRES_POOL_MIN = _int("POSTGRES_POOL_MIN", 2)
#: PostgreSQL storage: most pooled connections of one process (readers wait beyond it).
POSTGRES_POOL_MAX = _int("POSTGRES_POOL_MAX", 16)
#: PostgreSQL storage: how long opening the store waits for its first connection.
POSTGRES_CONNECT_TIMEOUT_SECONDS = _float("POSTGRES_CONNECT_TIMEOUT_SECONDS", 10.0)
#: PostgreSQL storage: how often a node looks for other nodes' commits without a NOTIFY.
POSTGRES_POLL_SECONDS = _float("POSTGRES_POLL_SECONDS", 1.0)
#: Several nodes: how long a client reconnecting to a node waits for the commits it saw
#: on another node to arrive here before its queries run anyway.
CATCH_UP_TIMEOUT_SECONDS = _float("CATCH_UP_TIMEOUT_SECONDS", 2.0)
