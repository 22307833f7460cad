"""The catalog (database/catalog.py)."""

from __future__ import annotations

from pyconvex.database.catalog import (
    BY_CREATION_TIME,
    BY_ID,
    FIRST_USER_TABLE_NUMBER,
    Catalog,
    IndexState,
    TableInfo,
    builtin_indexes,
)


def test_bootstrap_has_the_system_tables_with_builtin_indexes() -> None:
    catalog = Catalog.bootstrap()
    storage = catalog.table("_storage")
    assert storage is not None and storage.number < FIRST_USER_TABLE_NUMBER
    assert set(storage.indexes) == {BY_ID, BY_CREATION_TIME}
    assert catalog.table_by_number(storage.number) is storage


def test_tables_and_indexes_round_trip_through_json() -> None:
    catalog = Catalog.bootstrap().with_created_table(
        TableInfo("users", FIRST_USER_TABLE_NUMBER, builtin_indexes(100))
    )
    catalog = catalog.with_index("users", "by_name", ["name"], IndexState.BACKFILLING, 102)
    assert catalog.next_table_number == FIRST_USER_TABLE_NUMBER + 1
    assert catalog.next_index_id == 103
    index = catalog.tables["users"].indexes["by_name"]
    assert index.key_fields == ("name", "_creationTime", "_id")
    enabled = catalog.with_index_state("users", "by_name", IndexState.ENABLED)
    restored = Catalog.from_json(enabled.to_json())
    assert restored.tables["users"].indexes["by_name"].state is IndexState.ENABLED
    assert restored.table_by_number(FIRST_USER_TABLE_NUMBER) == restored.tables["users"]
    assert "by_name" not in restored.without_index("users", "by_name").tables["users"].indexes


def test_system_indexes_added_by_a_later_version_are_backfilled() -> None:
    from pyconvex.database.catalog import SYSTEM_INDEXES

    bootstrap = Catalog.bootstrap()
    jobs = bootstrap.tables["_scheduled_functions"]
    assert set(jobs.indexes) == {BY_ID, BY_CREATION_TIME, *SYSTEM_INDEXES["_scheduled_functions"]}
    assert jobs.indexes["by_state_scheduled_time"].key_fields == (
        "state.kind", "scheduledTime", "_creationTime", "_id"
    )  # fmt: skip
    # A catalog saved before the index existed gets it, to be filled before use.
    older = bootstrap.without_index("_scheduled_functions", "by_state_scheduled_time")
    upgraded = older.with_system_tables()
    index = upgraded.tables["_scheduled_functions"].indexes["by_state_scheduled_time"]
    assert index.state is IndexState.BACKFILLING
    assert index.index_id >= older.next_index_id
    assert upgraded.tables["_cron_jobs"].number < FIRST_USER_TABLE_NUMBER
