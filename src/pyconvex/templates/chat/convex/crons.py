"""Recurring jobs: the guide's crons.ts, line by line. Every time is UTC."""

from pyconvex import cron_jobs

from ._generated.api import internal

crons = cron_jobs()

# Run every 5 minutes
crons.interval(
    "categorize pending tasks",
    {"minutes": 5},
    internal.tasks.categorizePending,
)

# Run daily at midnight
crons.daily(
    "send daily digest",
    {"hourUTC": 0, "minuteUTC": 0},
    internal.emails.sendDailyDigest,
)

# Run weekly on Monday at 9am
crons.weekly(
    "weekly report",
    {"dayOfWeek": "monday", "hourUTC": 9, "minuteUTC": 0},
    internal.reports.generateWeekly,
)

# Custom cron expression
crons.cron(
    "complex schedule",
    "0 */2 * * *",  # Every 2 hours
    internal.tasks.cleanup,
)
