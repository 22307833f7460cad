"""Cron jobs: the builders of ``convex/crons.py`` and when each job runs next.

``crons.py`` declares recurring jobs exactly as Convex's ``crons.ts`` does::

    from pyconvex import cron_jobs
    from ._generated.api import internal

    crons = cron_jobs()
    crons.interval("categorize pending tasks", {"minutes": 5}, internal.tasks.categorizePending)
    crons.daily("send daily digest", {"hourUTC": 0, "minuteUTC": 0}, internal.emails.send)
    crons.weekly("weekly report", {"dayOfWeek": "monday", "hourUTC": 9, "minuteUTC": 0}, ...)
    crons.monthly("billing", {"day": 1, "hourUTC": 17, "minuteUTC": 30}, ...)
    crons.cron("complex schedule", "0 */2 * * *", internal.tasks.cleanup)

Every time is UTC. The option names, the validation and its messages are
Convex's (``server/cron.ts``). Cron expressions are standard five-field ones,
parsed by ``cronsim``. :func:`next_run` is the scheduling rule of Convex's
backend: an interval's first run is when it is deployed, later runs follow
the previous scheduled time; calendar schedules run at their next occurrence
after now; runs missed while the deployment was down are skipped, not replayed.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cronsim import CronSim, CronSimError

from pyconvex.errors import CronJobError, InvalidValueError
from pyconvex.functions.references import function_path
from pyconvex.values.limits import check_function_value
from pyconvex.values.model import Value, normalize_value

__all__ = ["DAYS_OF_WEEK", "CronJob", "Crons", "cron_jobs", "describe_schedule", "next_run"]

DAYS_OF_WEEK = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_PRINTABLE_ASCII = re.compile(r"^[ -~]*$")
_INTERVAL_UNITS_MS = {"seconds": 1000, "minutes": 60_000, "hours": 3_600_000}
#: Most skipped occurrences counted for the log line of a late run.
_SKIP_COUNT_CAP = 10_000


@dataclass(frozen=True, slots=True)
class CronJob:
    """One declared cron job.

    Attributes:
        name: its unique identifier in ``crons.py``.
        function: the canonical path of the mutation or action it runs.
        args: the arguments it is called with.
        schedule: Convex's schedule object, e.g. ``{"type": "daily", "hourUTC": 9}``.
    """

    name: str
    function: str
    args: dict[str, Value]
    schedule: dict[str, Any]


class Crons:
    """The cron jobs of an app; made by :func:`cron_jobs` in ``convex/crons.py``."""

    def __init__(self) -> None:
        #: Declared jobs by name, in declaration order.
        self.crons: dict[str, CronJob] = {}

    def interval(
        self,
        name: str,
        schedule: Mapping[str, Any],
        reference: Any,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Run ``reference`` every ``{"seconds"|"minutes"|"hours": n}``, from deploy time on."""
        _check_options("interval", schedule, ("seconds", "minutes", "hours"))
        given = [unit for unit in _INTERVAL_UNITS_MS if schedule.get(unit) is not None]
        if len(given) != 1:
            raise CronJobError("Must specify one of seconds, minutes, or hours")
        count = schedule[given[0]]
        if not _is_integer(count) or count <= 0:
            raise CronJobError("Interval must be an integer greater than 0")
        self._add(name, {"type": "interval", given[0]: int(count)}, reference, args)

    def hourly(
        self,
        name: str,
        schedule: Any,
        reference: Any = None,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Run every hour at ``{"minuteUTC": m}``; the schedule may be left out entirely."""
        if not isinstance(schedule, Mapping):
            # crons.hourly(name, reference, args?): no schedule object at all.
            schedule, reference, args = {}, schedule, reference
        _check_options("hourly", schedule, ("minuteUTC",))
        minute = _optional_minute(schedule.get("minuteUTC"))
        spec: dict[str, Any] = {"type": "hourly"}
        if minute is not None:
            spec["minuteUTC"] = minute
        self._add(name, spec, reference, args)

    def daily(
        self,
        name: str,
        schedule: Mapping[str, Any],
        reference: Any,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Run every day at ``{"hourUTC": h, "minuteUTC": m}``."""
        _check_options("daily", schedule, ("hourUTC", "minuteUTC"))
        spec = {"type": "daily", "hourUTC": _hour(schedule.get("hourUTC"))}
        self._add(name, _with_minute(spec, schedule), reference, args)

    def weekly(
        self,
        name: str,
        schedule: Mapping[str, Any],
        reference: Any,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Run every week at ``{"dayOfWeek": "monday", "hourUTC": h, "minuteUTC": m}``."""
        _check_options("weekly", schedule, ("dayOfWeek", "hourUTC", "minuteUTC"))
        day = schedule.get("dayOfWeek")
        if day not in DAYS_OF_WEEK:
            raise CronJobError('Day of week must be a string like "monday".')
        spec = {"type": "weekly", "dayOfWeek": day, "hourUTC": _hour(schedule.get("hourUTC"))}
        self._add(name, _with_minute(spec, schedule), reference, args)

    def monthly(
        self,
        name: str,
        schedule: Mapping[str, Any],
        reference: Any,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Run every month at ``{"day": d, "hourUTC": h, "minuteUTC": m}``.

        Days above 28 are skipped in the months that lack them (day 31 runs
        seven times a year), as in Convex.
        """
        _check_options("monthly", schedule, ("day", "hourUTC", "minuteUTC"))
        day: Any = schedule.get("day")
        if not _is_integer(day) or not 1 <= day <= 31:
            raise CronJobError("Day of month must be an integer from 1 to 31")
        spec = {"type": "monthly", "day": int(day), "hourUTC": _hour(schedule.get("hourUTC"))}
        self._add(name, _with_minute(spec, schedule), reference, args)

    def cron(
        self,
        name: str,
        expression: str,
        reference: Any,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Run on a standard five-field cron expression (``"15 7 * * *"``), in UTC."""
        if not isinstance(expression, str):
            raise CronJobError(f"A cron expression must be a string, got {expression!r}")
        try:
            CronSim(expression, datetime.now(UTC))
        except CronSimError as error:
            raise CronJobError(f"Invalid cron expression {expression!r}: {error}") from None
        self._add(name, {"type": "cron", "cron": expression}, reference, args)

    def _add(
        self, name: str, schedule: dict[str, Any], reference: Any, args: dict[str, Any] | None
    ) -> None:
        checked_args = _parse_args(args)
        if not isinstance(name, str) or not _PRINTABLE_ASCII.match(name):
            raise CronJobError(
                f"Invalid cron identifier {name}: use ASCII letters that are not control characters"
            )
        if name in self.crons:
            raise CronJobError(f"Cron identifier registered twice: {name}")
        try:
            path = function_path(reference)
        except (TypeError, ValueError) as error:
            raise CronJobError(f"Cron job {name!r}: {error}") from None
        self.crons[name] = CronJob(name, path, checked_args, schedule)

    def __len__(self) -> int:
        return len(self.crons)


def cron_jobs() -> Crons:
    """A new, empty set of cron jobs: ``crons = cron_jobs()`` in ``convex/crons.py``."""
    return Crons()


def next_run(
    schedule: Mapping[str, Any], previous_ms: float | None, now_ms: float, name: str = ""
) -> tuple[float, int]:
    """When a job runs next, and how many past occurrences that skips.

    Args:
        schedule: the job's schedule object.
        previous_ms: the scheduled time of the run that just finished (None: a new job).
        now_ms: the current time.
        name: the job's name (picks the minute of a schedule without ``minuteUTC``).

    An interval's first run is ``now_ms``; then every interval from the
    previous scheduled time, at the first one strictly after ``now_ms``.
    Calendar schedules run at their first occurrence strictly after ``now_ms``.
    """
    if schedule["type"] == "interval":
        period = next(schedule[u] * ms for u, ms in _INTERVAL_UNITS_MS.items() if u in schedule)
        if previous_ms is None:
            return now_ms, 0
        due = previous_ms + period
        # The next run is after now: runs that fell due meanwhile are skipped, and
        # none runs twice at the same instant.
        skipped = math.floor((now_ms - due) / period) + 1 if due <= now_ms else 0
        return due + skipped * period, skipped
    expression = cron_expression(schedule, name)
    upcoming = _occurrences(expression, now_ms)
    next_ms = next(upcoming)
    return next_ms, 0 if previous_ms is None else _count_between(expression, previous_ms, now_ms)


def cron_expression(schedule: Mapping[str, Any], name: str = "") -> str:
    """The five-field UTC cron expression of a calendar schedule (not of an interval)."""
    kind = schedule["type"]
    if kind == "cron":
        expression: str = schedule["cron"]
        return expression
    # Numbers read back from a stored spec are floats: 9.0 must print as 9.
    pinned = schedule.get("minuteUTC")
    minute = _stable_minute(name) if pinned is None else int(pinned)
    if kind == "hourly":
        return f"{minute} * * * *"
    hour = int(schedule["hourUTC"])
    if kind == "daily":
        return f"{minute} {hour} * * *"
    if kind == "weekly":
        return f"{minute} {hour} * * {DAYS_OF_WEEK.index(schedule['dayOfWeek'])}"
    if kind == "monthly":
        return f"{minute} {hour} {int(schedule['day'])} * *"
    raise CronJobError(f"Unknown cron schedule type: {kind!r}")


def describe_schedule(schedule: Mapping[str, Any], name: str = "") -> str:
    """A schedule in words, as the dashboard shows it: ``"daily at 09:30 UTC"``.

    A schedule without ``minuteUTC`` shows the minute it runs at (picked from
    ``name``, see :func:`cron_expression`).
    """
    kind = schedule.get("type")
    if kind == "interval":
        unit, count = next((u, schedule[u]) for u in _INTERVAL_UNITS_MS if u in schedule)
        count = int(count)
        return f"every {count} {unit if count != 1 else unit[:-1]}"
    if kind == "cron":
        return f"cron {schedule['cron']} (UTC)"
    minute, hour, day, _, weekday = cron_expression(schedule, name).split()
    if kind == "hourly":
        return f"hourly at :{int(minute):02d} UTC"
    at = f"{int(hour):02d}:{int(minute):02d} UTC"
    if kind == "daily":
        return f"daily at {at}"
    if kind == "weekly":
        return f"weekly on {DAYS_OF_WEEK[int(weekday)]} at {at}"
    return f"monthly on day {day} at {at}"


def _occurrences(expression: str, after_ms: float) -> Any:
    start = datetime.fromtimestamp(after_ms / 1000, UTC)
    for moment in CronSim(expression, start):
        yield moment.timestamp() * 1000


def _count_between(expression: str, previous_ms: float, now_ms: float) -> int:
    """Occurrences strictly after ``previous_ms`` and at or before ``now_ms``: the skipped runs."""
    count = 0
    for moment in _occurrences(expression, previous_ms):
        if moment > now_ms or count >= _SKIP_COUNT_CAP:
            break
        count += 1
    return count


def _stable_minute(name: str) -> int:
    # Convex spreads jobs without a pinned minute over the hour at random; a
    # hash of the name spreads them the same way but stays put across restarts.
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % 60


def _check_options(method: str, schedule: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(schedule, Mapping):
        raise CronJobError(
            f"crons.{method}() takes a schedule object such as "
            f"{{{', '.join(repr(k) + ': ...' for k in allowed)}}}, got {schedule!r}"
        )
    unknown = [key for key in schedule if key not in allowed]
    if unknown:
        raise CronJobError(
            f"Unknown option {unknown[0]!r} for crons.{method}() "
            f"(its options are {', '.join(allowed)}; times are UTC)"
        )


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value == int(value)


def _hour(value: Any) -> int:
    if not _is_integer(value) or not 0 <= value <= 23:
        raise CronJobError("Hour of day must be an integer from 0 to 23")
    return int(value)


def _optional_minute(value: Any) -> int | None:
    if value is None:
        return None
    if not _is_integer(value) or not 0 <= value <= 59:
        raise CronJobError("Minute of hour must be an integer from 0 to 59")
    return int(value)


def _with_minute(spec: dict[str, Any], schedule: Mapping[str, Any]) -> dict[str, Any]:
    minute = _optional_minute(schedule.get("minuteUTC"))
    return spec if minute is None else {**spec, "minuteUTC": minute}


def _parse_args(args: Any) -> dict[str, Value]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise CronJobError(
            f"The arguments to a Convex function must be an object. Received: {args!r}"
        )
    try:
        checked: dict[str, Value] = normalize_value(args)
        check_function_value([checked])
    except InvalidValueError as error:
        raise CronJobError(f"Invalid cron job arguments: {error.message}") from None
    return checked
