"""The write log (database/write_log.py)."""

from __future__ import annotations

from pyconvex.database.readset import ReadSet
from pyconvex.database.write_log import (
    CommitRecord,
    TouchedKey,
    WriteLog,
    decode_commit,
    encode_commit,
)


def record(ts: int, key: bytes, origin: str = "f") -> CommitRecord:
    return CommitRecord(ts, [TouchedKey(1, key, "t", f"id{ts}")], origin)


def reads(key: bytes) -> ReadSet:
    read_set = ReadSet()
    read_set.add_point(1, key)
    return read_set


def test_only_commits_after_the_begin_timestamp_conflict() -> None:
    log = WriteLog(floor_ts=0, max_records=10)
    log.append(record(5, b"k"))
    assert log.find_conflict(reads(b"k"), begin_ts=5) is None
    conflict = log.find_conflict(reads(b"k"), begin_ts=4)
    assert conflict is not None and conflict.ts == 5 and conflict.document_id == "id5"
    assert log.find_conflict(reads(b"other"), begin_ts=0) is None
    log.check_invariants()


def test_indexes_not_written_since_the_begin_are_skipped() -> None:
    log = WriteLog(floor_ts=0, max_records=10)
    log.append(record(3, b"k"))
    other_index = ReadSet()
    other_index.add(2, b"", None)
    assert log.find_conflict(other_index, begin_ts=0) is None
    log.remove_newest(1)
    assert len(log) == 0
    log.check_invariants()


def test_transactions_older_than_the_log_conflict() -> None:
    log = WriteLog(floor_ts=0, max_records=2)
    for ts in (1, 2, 3):
        log.append(record(ts, bytes([ts])))
    assert log.floor_ts == 1
    assert log.find_conflict(reads(b"zz"), begin_ts=0) is not None
    assert log.find_conflict(reads(b"zz"), begin_ts=1) is None
    log.prune_before(3)
    assert len(log) == 1 and log.floor_ts == 2
    log.check_invariants()


def test_an_empty_read_set_never_conflicts() -> None:
    log = WriteLog(floor_ts=10, max_records=2)
    assert log.find_conflict(ReadSet(), begin_ts=0) is None


def test_commit_records_round_trip_through_the_commit_log_payload() -> None:
    record = CommitRecord(
        42,
        [TouchedKey(3, b"\x00\xffkey", "notes", "j57abc"), TouchedKey(0, b"\xff", "", "")],
        "notes:add",
    )
    decoded, catalog = decode_commit(42, encode_commit(record))
    assert decoded == record and catalog is None
    assert decoded.by_index == record.by_index
    decoded, catalog = decode_commit(42, encode_commit(record, '{"tables": {}}'))
    assert catalog == '{"tables": {}}'
    anonymous = CommitRecord(7, [], None)
    assert decode_commit(7, encode_commit(anonymous)) == (anonymous, None)
