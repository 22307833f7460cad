"""The executor: transactions, OCC retries, nesting, validation, determinism, limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyconvex import ConvexError, Int64, knobs
from pyconvex.errors import (
    ArgumentValidationError,
    ExecutionTimeoutError,
    FunctionNotFoundError,
    NondeterminismError,
    OptimisticConcurrencyControlFailure,
    ReturnsValidationError,
)
from pyconvex.functions.registry import FunctionDefinition, FunctionKind
from pyconvex.testing import ConvexTest
from tests import pg_server

from . import sample_app


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def t(request: pytest.FixtureRequest) -> AsyncIterator[ConvexTest]:
    url = pg_server.fresh_database() if request.param == "postgres" else None
    harness = ConvexTest(sample_app.schema, {"sample": sample_app}, database_url=url)
    yield harness
    harness.close()


async def test_ten_concurrent_read_modify_writes_all_apply_exactly_once(t: ConvexTest) -> None:
    counter = await t.mutation("sample:create_counter", {"name": "c"})
    results = await asyncio.gather(
        *(t.mutation("sample:increment", {"id": counter}) for _ in range(10))
    )
    assert sorted(results) == list(range(1, 11))
    assert await t.query("sample:value_of", {"name": "c"}) == 10


async def test_occ_failure_after_every_retry_conflicts(
    t: ConvexTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knobs, "OCC_INITIAL_BACKOFF_SECONDS", 0.001)
    counter = await t.mutation("sample:create_counter", {"name": "hot"})
    attempts = 0

    async def conflicting(ctx: Any) -> None:
        nonlocal attempts
        attempts += 1
        current = await ctx.db.get(counter)
        # Another writer commits in between, every time.
        other = t.database.begin(writable=True)
        other.patch(counter, {"value": Int64(current["value"] + 1)})
        t.database.commit(other).result()
        await ctx.db.patch(counter, {"value": Int64(0)})

    t.executor.registry.add(
        "sample:conflicting", FunctionDefinition(FunctionKind.MUTATION, conflicting)
    )
    with pytest.raises(OptimisticConcurrencyControlFailure) as caught:
        await t.mutation("sample:conflicting")
    assert attempts == knobs.OCC_MAX_RETRIES + 1
    # Every attempt conflicted; all but the last were retried (the metrics' figures).
    assert t.executor.occ_conflicts.value == knobs.OCC_MAX_RETRIES + 1
    assert t.executor.occ_retries.value == knobs.OCC_MAX_RETRIES
    assert 'Documents read from or written to the "counters" table changed' in str(caught.value)
    assert counter in str(caught.value)


async def test_a_failed_mutation_writes_nothing(t: ConvexTest) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await t.mutation("sample:fails_after_writing")
    assert await t.query("sample:notes") == []


async def test_nested_mutation_rolls_back_alone(t: ConvexTest) -> None:
    assert await t.mutation("sample:nested_rollback") == ["kept"]
    assert await t.query("sample:notes") == ["kept"]


async def test_convex_error_data_reaches_the_caller_intact(t: ConvexTest) -> None:
    with pytest.raises(ConvexError) as caught:
        await t.mutation("sample:add_note_then_fail", {"text": "x"})
    assert caught.value.data == {"code": 42, "message": "nope"}
    assert type(caught.value.data["code"]) is Int64
    assert await t.query("sample:notes") == []


async def test_argument_validation_runs_before_the_handler(t: ConvexTest) -> None:
    with pytest.raises(ArgumentValidationError, match="ArgumentValidationError"):
        await t.mutation("sample:add_note", {"text": 5})
    with pytest.raises(ArgumentValidationError, match="extra field `other`"):
        await t.mutation("sample:add_note", {"text": "a", "other": 1})
    assert await t.query("sample:notes") == []


async def test_returns_validation(t: ConvexTest) -> None:
    with pytest.raises(ReturnsValidationError, match="ReturnsValidationError"):
        await t.query("sample:wrong_return")


async def test_v_id_arguments_check_the_table(t: ConvexTest) -> None:
    note = await t.mutation("sample:add_note", {"text": "x"})
    with pytest.raises(ArgumentValidationError, match="does not match the table name"):
        await t.mutation("sample:increment", {"id": note})


async def test_internal_functions_are_not_public(t: ConvexTest) -> None:
    with pytest.raises(
        FunctionNotFoundError, match="Could not find public function for 'sample:secret'"
    ):
        await t.executor.run_query("sample:secret", {})
    assert (await t.executor.run_query("sample:calls_internal", {})).value == "internal"
    with pytest.raises(FunctionNotFoundError):
        await t.executor.run_query("sample:nothing_here", {})


async def test_sync_handlers_and_gathered_reads(t: ConvexTest) -> None:
    a = await t.mutation("sample:create_counter", {"name": "a"})
    b = await t.mutation("sample:create_counter", {"name": "b"})
    assert await t.query("sample:sync_count") == 2
    assert await t.query("sample:gathered", {"ids": [b, a]}) == ["b", "a"]


async def test_actions_run_each_call_in_its_own_transaction(t: ConvexTest) -> None:
    assert await t.action("sample:action_round_trip", {"name": "x"}) == 1
    value, counter_id = await t.action("sample:sync_action", {"name": "y"})
    assert value == 0 and isinstance(counter_id, str)


async def test_queries_see_frozen_time_and_seeded_randomness(t: ConvexTest) -> None:
    before = time.time()
    first = await t.query("sample:clock_and_randomness")
    assert first["first"] == first["second"]
    assert before - 1 <= first["first"] <= time.time()
    second = await t.query("sample:clock_and_randomness")
    assert first["random"] != second["random"]  # a new seed per execution
    assert len(first["uuid"]) == 36


async def test_network_is_refused_in_queries(t: ConvexTest) -> None:
    with pytest.raises(NondeterminismError, match="Can't use fetch\\(\\) in queries and mutations"):
        await t.query("sample:uses_network")


async def test_an_action_running_alongside_sees_the_real_clock(t: ConvexTest) -> None:
    query, action = await asyncio.gather(
        t.query("sample:clock_and_randomness"), t.action("sample:real_clock")
    )
    assert query["first"] == query["second"]
    assert action[1] - action[0] >= 0.04


async def test_a_cpu_heavy_query_times_out(t: ConvexTest) -> None:
    t.executor.user_timeout_seconds = 0.2
    for name in ("sample:busy", "sample:busy_async"):
        with pytest.raises(ExecutionTimeoutError, match="Function execution timed out"):
            await t.query(name, {"seconds": 3})
    assert await t.query("sample:quick") == "ok"  # the workers survived


async def test_a_slow_handler_does_not_stall_other_requests(t: ConvexTest) -> None:
    t.executor.user_timeout_seconds = 5
    slow = asyncio.create_task(t.query("sample:busy_async", {"seconds": 1.0}))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    quick = await asyncio.gather(*(t.query("sample:quick") for _ in range(20)))
    elapsed = time.monotonic() - started
    assert quick == ["ok"] * 20
    assert not slow.done(), f"quick queries waited for the slow one ({elapsed:.2f}s)"
    await slow


async def test_async_iteration_and_system_tables(t: ConvexTest) -> None:
    await t.mutation("sample:create_counter", {"name": "a"})
    await t.mutation("sample:create_counter", {"name": "b"})
    result = await t.query("sample:iterate_and_system")
    assert result == {"names": ["a", "b"], "files": [], "direct": "DocumentError"}


async def test_actions_have_a_time_limit(t: ConvexTest) -> None:
    t.executor.action_timeout_seconds = 0.2

    async def slow(ctx: Any) -> None:
        await asyncio.sleep(5)

    t.executor.registry.add("sample:slow_action", FunctionDefinition(FunctionKind.ACTION, slow))
    with pytest.raises(ExecutionTimeoutError, match="maximum duration: 0.2s"):
        await t.action("sample:slow_action")


async def test_mutation_records_answer_replays_and_are_pruned_later(t: ConvexTest) -> None:
    from pyconvex.functions.executor import prune_session_requests

    first = await t.executor.run_mutation("sample:add_note", {"text": "a"}, request=("s1", 0))
    again = await t.executor.run_mutation("sample:add_note", {"text": "a"}, request=("s1", 0))
    assert (again.value, again.ts) == (first.value, first.ts)
    assert await t.query("sample:notes") == ["a"]  # applied once
    assert prune_session_requests(t.database, older_than_seconds=3600) == 0  # still fresh
    assert prune_session_requests(t.database, older_than_seconds=-1) == 1
    third = await t.executor.run_mutation("sample:add_note", {"text": "a"}, request=("s1", 0))
    assert third.ts != first.ts  # forgotten: a (very late) replay runs again
