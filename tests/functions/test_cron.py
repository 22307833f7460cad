"""Cron job builders and next-run computation (functions/cron.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pyconvex import cron_jobs, internal
from pyconvex.errors import CronJobError
from pyconvex.functions.cron import cron_expression, describe_schedule, next_run

MINUTE = 60_000
HOUR = 60 * MINUTE


def ms(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp() * 1000  # type: ignore[misc]


def when(timestamp_ms: float) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def test_the_guides_crons_translate_line_by_line() -> None:
    crons = cron_jobs()
    crons.interval("categorize", {"minutes": 5}, internal.tasks.categorizePending)
    crons.daily("digest", {"hourUTC": 0, "minuteUTC": 0}, internal.emails.sendDailyDigest)
    crons.weekly("report", {"dayOfWeek": "monday", "hourUTC": 9, "minuteUTC": 0}, "reports:weekly")
    crons.monthly("bill", {"day": 1, "hourUTC": 17, "minuteUTC": 30}, "billing.py:run", {"n": 1})
    crons.hourly("tidy", {"minuteUTC": 15}, "tasks:cleanup")
    crons.hourly("spread", "tasks:cleanup", {"olderThanDays": 3})
    crons.cron("complex", "0 */2 * * *", internal.tasks.cleanup)
    jobs = crons.crons
    assert list(jobs) == [
        "categorize", "digest", "report", "bill", "tidy", "spread", "complex"
    ]  # fmt: skip
    assert jobs["categorize"].function == "tasks:categorizePending"
    assert jobs["categorize"].schedule == {"type": "interval", "minutes": 5}
    assert jobs["digest"].schedule == {"type": "daily", "hourUTC": 0, "minuteUTC": 0}
    assert jobs["bill"].function == "billing:run" and jobs["bill"].args == {"n": 1}
    assert jobs["spread"].schedule == {"type": "hourly"}
    assert jobs["spread"].args == {"olderThanDays": 3}
    assert jobs["complex"].schedule == {"type": "cron", "cron": "0 */2 * * *"}
    assert len(crons) == 7


@pytest.mark.parametrize(
    ("define", "message"),
    [
        (lambda c: c.interval("a", {}, "m:f"), "Must specify one of seconds, minutes, or hours"),
        (
            lambda c: c.interval("a", {"seconds": 1, "hours": 1}, "m:f"),
            "Must specify one of seconds, minutes, or hours",
        ),
        (
            lambda c: c.interval("a", {"minutes": 1.5}, "m:f"),
            "Interval must be an integer greater than 0",
        ),
        (
            lambda c: c.interval("a", {"hours": 0}, "m:f"),
            "Interval must be an integer greater than 0",
        ),
        (lambda c: c.daily("a", {"hourUTC": 24}, "m:f"), "Hour of day must be an integer from 0"),
        (lambda c: c.daily("a", {"minuteUTC": 5}, "m:f"), "Hour of day must be an integer"),
        (
            lambda c: c.hourly("a", {"minuteUTC": 60}, "m:f"),
            "Minute of hour must be an integer from 0 to 59",
        ),
        (
            lambda c: c.weekly("a", {"dayOfWeek": "Monday", "hourUTC": 1}, "m:f"),
            'Day of week must be a string like "monday".',
        ),
        (
            lambda c: c.monthly("a", {"day": 32, "hourUTC": 1}, "m:f"),
            "Day of month must be an integer from 1 to 31",
        ),
        (lambda c: c.cron("a", "61 * * * *", "m:f"), "Invalid cron expression '61 * * * *'"),
        (lambda c: c.cron("a", "* * *", "m:f"), "Invalid cron expression"),
        (
            lambda c: c.daily("a", {"hour_utc": 1}, "m:f"),
            "Unknown option 'hour_utc' for crons.daily() (its options are hourUTC, minuteUTC",
        ),
        (lambda c: c.daily("tab\there", {"hourUTC": 1}, "m:f"), "Invalid cron identifier"),
        (
            lambda c: c.daily("a", {"hourUTC": 1}, "m:f", ["not", "an", "object"]),
            "The arguments to a Convex function must be an object",
        ),
        (lambda c: c.daily("a", {"hourUTC": 1}, 42), "Cron job 'a': Expected a function"),
    ],
)
def test_invalid_definitions_are_refused_with_convexs_messages(define, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CronJobError) as raised:
        define(cron_jobs())
    assert message in raised.value.message


def test_names_are_unique() -> None:
    crons = cron_jobs()
    crons.hourly("same", "m:f")
    with pytest.raises(CronJobError, match="Cron identifier registered twice: same"):
        crons.daily("same", {"hourUTC": 1}, "m:g")


def test_an_interval_runs_at_deploy_then_every_interval() -> None:
    schedule = {"type": "interval", "minutes": 5}
    now = ms(2024, 1, 1, 12, 3)
    assert next_run(schedule, None, now) == (now, 0)
    assert next_run(schedule, now, now + 1000) == (now + 5 * MINUTE, 0)
    # Seconds and hours; a run that finished late still keeps the cadence.
    assert next_run({"type": "interval", "seconds": 30}, now, now + 31_000)[0] == now + 60_000
    assert next_run({"type": "interval", "hours": 2}, now, now)[0] == now + 2 * HOUR


def test_missed_interval_runs_collapse_into_one() -> None:
    schedule = {"type": "interval", "minutes": 5}
    start = ms(2024, 1, 1, 12, 0)
    # Down for an hour and a minute: the next run is the next slot in the future.
    upcoming, skipped = next_run(schedule, start, start + 61 * MINUTE)
    assert upcoming == start + 65 * MINUTE
    assert skipped == 12
    # Exactly on a slot: that slot is the late run itself; the next one is later.
    assert next_run(schedule, start, start + 60 * MINUTE) == (start + 65 * MINUTE, 12)


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        ({"type": "hourly", "minuteUTC": 15}, (2024, 1, 1, 12, 15), (2024, 1, 1, 13, 15)),
        ({"type": "hourly", "minuteUTC": 15}, (2024, 1, 1, 12, 14), (2024, 1, 1, 12, 15)),
        (
            {"type": "daily", "hourUTC": 0, "minuteUTC": 0},
            (2024, 12, 31, 23, 59),
            (2025, 1, 1, 0, 0),
        ),
        (
            {"type": "weekly", "dayOfWeek": "monday", "hourUTC": 9, "minuteUTC": 0},
            (2024, 1, 1, 9, 0),  # a Monday at 9:00 exactly: next week
            (2024, 1, 8, 9, 0),
        ),
        (
            {"type": "weekly", "dayOfWeek": "sunday", "hourUTC": 23, "minuteUTC": 30},
            (2024, 1, 1, 0, 0),
            (2024, 1, 7, 23, 30),
        ),
        # Day 31 skips the months without one (Convex's behaviour): April has 30 days.
        (
            {"type": "monthly", "day": 31, "hourUTC": 9, "minuteUTC": 0},
            (2024, 4, 1),
            (2024, 5, 31, 9, 0),
        ),
        (
            {"type": "monthly", "day": 31, "hourUTC": 9, "minuteUTC": 0},
            (2024, 5, 31, 9, 0),
            (2024, 7, 31, 9, 0),
        ),
        # Day 30 skips February, in a leap year too; day 29 does not, then.
        (
            {"type": "monthly", "day": 30, "hourUTC": 0, "minuteUTC": 0},
            (2024, 2, 1),
            (2024, 3, 30, 0, 0),
        ),
        (
            {"type": "monthly", "day": 29, "hourUTC": 0, "minuteUTC": 0},
            (2024, 2, 1),
            (2024, 2, 29, 0, 0),
        ),
        ({"type": "cron", "cron": "0 */2 * * *"}, (2024, 1, 1, 1, 30), (2024, 1, 1, 2, 0)),
        ({"type": "cron", "cron": "15 7 * * *"}, (2024, 1, 1, 7, 15), (2024, 1, 2, 7, 15)),
    ],
)
def test_calendar_schedules_run_at_their_next_occurrence(
    schedule: dict[str, object], now: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    upcoming, _ = next_run(schedule, None, ms(*now))
    assert when(upcoming) == datetime(*expected, tzinfo=UTC)  # type: ignore[misc]


def test_missed_calendar_runs_collapse_into_one() -> None:
    schedule = {"type": "cron", "cron": "0 * * * *"}
    previous = ms(2024, 1, 1, 0, 0)
    upcoming, skipped = next_run(schedule, previous, ms(2024, 1, 1, 5, 30))
    assert when(upcoming) == datetime(2024, 1, 1, 6, 0, tzinfo=UTC)
    assert skipped == 5  # 1:00 .. 5:00


def test_a_schedule_without_a_minute_keeps_one_minute_per_job() -> None:
    # Convex spreads such jobs over the hour; here the minute comes from the name.
    first = cron_expression({"type": "daily", "hourUTC": 3}, "job a")
    assert first == cron_expression({"type": "daily", "hourUTC": 3}, "job a")
    minute = int(first.split()[0])
    assert 0 <= minute < 60 and first.endswith(" 3 * * *")
    minutes = {cron_expression({"type": "hourly"}, f"job {n}").split()[0] for n in range(40)}
    assert len(minutes) > 10
    # Numbers read back from storage are floats: they print as integers.
    assert cron_expression({"type": "monthly", "day": 31.0, "hourUTC": 9.0, "minuteUTC": 0.0}) == (
        "0 9 31 * *"
    )


@pytest.fixture
def new_york() -> Iterator[None]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()


@pytest.mark.usefixtures("new_york")
def test_times_are_utc_whatever_the_servers_time_zone() -> None:
    schedule = {"type": "daily", "hourUTC": 9, "minuteUTC": 0}
    # Across New York's switch to daylight saving time (2024-03-10): still 24 h apart.
    first, _ = next_run(schedule, None, ms(2024, 3, 9, 12, 0))
    second, _ = next_run(schedule, first, first)
    assert when(first) == datetime(2024, 3, 10, 9, 0, tzinfo=UTC)
    assert second - first == 24 * HOUR


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"type": "interval", "minutes": 5.0}, "every 5 minutes"),
        ({"type": "interval", "hours": 1}, "every 1 hour"),
        ({"type": "hourly", "minuteUTC": 7.0}, "hourly at :07 UTC"),
        ({"type": "daily", "hourUTC": 0.0, "minuteUTC": 0.0}, "daily at 00:00 UTC"),
        (
            {"type": "weekly", "dayOfWeek": "monday", "hourUTC": 9, "minuteUTC": 30},
            "weekly on monday at 09:30 UTC",
        ),
        (
            {"type": "monthly", "day": 31.0, "hourUTC": 17, "minuteUTC": 5},
            "monthly on day 31 at 17:05 UTC",
        ),
        ({"type": "cron", "cron": "0 */2 * * *"}, "cron 0 */2 * * * (UTC)"),
    ],
)
def test_schedules_read_in_words(spec: dict[str, object], words: str) -> None:
    # Stored specs come back with float numbers; they read as whole ones.
    assert describe_schedule(spec) == words


def test_a_schedule_without_a_minute_reads_with_the_minute_it_runs_at() -> None:
    minute = int(cron_expression({"type": "daily", "hourUTC": 4}, "tidy").split()[0])
    assert (
        describe_schedule({"type": "daily", "hourUTC": 4}, "tidy")
        == f"daily at 04:{minute:02d} UTC"
    )
