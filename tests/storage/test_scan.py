"""Batch sizing of index scans shared by the SQL backends (storage/scan.py)."""

from __future__ import annotations

from pyconvex.storage.scan import BATCH_TARGET_BYTES, FIRST_BATCH, MAX_BATCH, next_batch


def test_batches_double_up_to_the_maximum_for_small_documents() -> None:
    assert next_batch(FIRST_BATCH, FIRST_BATCH, 100) == 2 * FIRST_BATCH
    assert next_batch(MAX_BATCH, MAX_BATCH, 1000) == MAX_BATCH


def test_large_documents_shrink_a_batch_to_about_the_target_bytes() -> None:
    # 64 rows of 1 MiB each: the next batch holds about BATCH_TARGET_BYTES.
    assert next_batch(64, 64, 64 << 20) == BATCH_TARGET_BYTES // (1 << 20)
    assert next_batch(4, 1, 100 << 20) == 1  # never below one row
    assert next_batch(16, 0, 0) == 32  # an empty batch carries nothing
