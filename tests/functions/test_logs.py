"""Function-run logs (functions/logs.py)."""

from __future__ import annotations

import asyncio

from pyconvex.functions.logs import FunctionLogs, FunctionRun, format_run


def record(logs: FunctionLogs, path: str, outcome: str = "success") -> FunctionRun:
    return logs.record(
        path=path,
        kind="query",
        started_at_ms=1.0,
        duration_ms=2.5,
        outcome=outcome,
        error=None if outcome == "success" else "boom",
        log_lines=("[LOG] hi",),
    )


def test_runs_are_read_by_cursor_and_bounded() -> None:
    logs = FunctionLogs(capacity=3)
    for n in range(5):
        record(logs, f"a:f{n}")
    runs, cursor = logs.since(0)
    assert [r.path for r in runs] == ["a:f2", "a:f3", "a:f4"] and cursor == 5
    assert logs.since(5) == ([], 5)
    assert FunctionRun.from_json(runs[0].to_json()) == runs[0]


def test_listeners_and_formatting() -> None:
    logs = FunctionLogs()
    seen: list[str] = []
    logs.add_listener(lambda run: seen.append(run.path))
    failed = record(logs, "a:g", "failure")
    assert seen == ["a:g"]
    assert format_run(failed).splitlines() == ["✗ Q a:g (2.5 ms)", "    [LOG] hi", "    boom"]


async def test_wait_returns_when_a_run_arrives() -> None:
    logs = FunctionLogs()
    waiting = asyncio.create_task(logs.wait(0, 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    record(logs, "a:late")
    runs, _ = await asyncio.wait_for(waiting, 5)
    assert [r.path for r in runs] == ["a:late"]
    assert (await logs.wait(1, 0.01)) == ([], 1)  # times out with nothing new


def test_runs_started_by_the_scheduler_carry_their_trigger() -> None:
    from pyconvex.functions.logs import claim_trigger, triggered_by

    logs = FunctionLogs()
    with triggered_by('cron "nightly"'):
        trigger, token = claim_trigger()
        nested, _ = claim_trigger()  # the run's own nested calls are not labeled again
        token.var.reset(token)
    assert (trigger, nested, claim_trigger()[0]) == ('cron "nightly"', None, None)
    run = logs.record(
        path="a:f",
        kind="mutation",
        started_at_ms=0.0,
        duration_ms=1.0,
        outcome="success",
        trigger='cron "nightly"',
    )
    assert format_run(run) == '✓ M a:f (1.0 ms) [cron "nightly"]'
    assert FunctionRun.from_json(run.to_json()) == run


def test_a_late_listener_can_replay_the_runs_it_missed() -> None:
    logs = FunctionLogs()
    record(logs, "a:early")
    seen: list[str] = []
    logs.add_listener(lambda run: seen.append(run.path), replay=True)
    record(logs, "a:late")
    assert seen == ["a:early", "a:late"]
