"""The dashboard in a real browser: Debian's chromium driven by playwright-core.

A real server process serves the chat example (``serve_example.py``); each test
runs one scenario of ``drive.mjs`` and checks what the page showed. Screenshots
of every page land in ``test-artifacts/dashboard/`` (git-ignored).

Marked ``browser`` (excluded by default): ``.venv/bin/pytest -m browser tests/dashboard``.
``scripts/install-browser`` installs chromium and the pinned playwright-core.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import _free_port

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if not CHROMIUM.exists() or not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.fail("chromium or playwright-core is missing: run ./scripts/install-browser")
    data = tmp_path_factory.mktemp("dashboard-data")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.dashboard.serve_example", str(_free_port()), str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        pytest.fail("the example server did not start")
    info: dict[str, str] = json.loads(line)
    _wait_until_serving(info["url"], process)
    info["jobId"] = _schedule_report(info)
    _sign_up(info["url"])
    yield info
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


def _wait_until_serving(url: str, process: subprocess.Popen[str]) -> None:
    import time

    import httpx

    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/dashboard/", timeout=2)
            return
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)


def _schedule_report(info: dict[str, str]) -> str:
    """A real pending job: the example's own mutation schedules it, run through the admin API."""
    import httpx

    answer = httpx.post(
        f"{info['url']}/api/function",
        json={"path": "reports:scheduleWeekly", "args": {"delayMs": 3_600_000}},
        headers={"Authorization": f"Convex {info['adminKey']}"},
        timeout=10,
    ).json()
    assert answer["status"] == "success", answer
    job_id: str = answer["value"]
    return job_id


def _sign_up(url: str) -> None:
    """A user of the example's built-in sign-in: rows with secrets in the ``_auth_*`` tables."""
    import httpx

    answer = httpx.post(
        f"{url}/api/auth/signup",
        json={"email": "lin@example.com", "password": "correct horse battery"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def drive(deployment: dict[str, str], scenario: str, **options: Any) -> dict[str, Any]:
    """Run one scenario of drive.mjs; return the JSON it printed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    node = shutil.which("node") or "node"
    result = subprocess.run(
        [
            node,
            "drive.mjs",
            scenario,
            deployment["url"],
            deployment["adminKey"],
            str(ARTIFACTS),
            json.dumps(options),
        ],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{scenario} failed:\n{result.stdout}\n{result.stderr}"
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert not answer.get("errors"), f"the page raised: {answer['errors']}"
    return answer


def test_sign_in_and_browse_a_table(deployment: dict[str, str]) -> None:
    seen = drive(deployment, "browse")
    # Ada (seeded) and the account signed up through built-in sign-in (users:onSignIn).
    assert ["tasks", "2"] in seen["tables"] and ["users", "2"] in seen["tables"]
    assert sorted(seen["titles"]) == ['"ship the dashboard"', '"write the docs"']
    # The schema and indexes of the table are shown.
    assert 'status: v.union(v.literal("todo")' in seen["documentType"]
    assert seen["indexes"] == ["by_creation_time", "by_status", "by_assignee", "by_due_date"]
    # Filtering by a field keeps only the matching document.
    assert seen["filtered"] == ['"write the docs"']
    assert seen["keyKept"] is True
    # Signed in from the URL fragment `pyconvex dashboard` opens; the key left the address bar.
    assert seen["handedOffUrl"] == f"{deployment['url']}/dashboard/#/data"
    # Sortable: the other order reverses the page; another index reads it again.
    assert seen["ascending"] == list(reversed(seen["descending"])) and len(seen["ascending"]) == 2
    assert seen["byStatus"] == ['"todo"', '"todo"']
    assert (ARTIFACTS / "sign-in.png").exists() and (ARTIFACTS / "data.png").exists()


def test_system_tables_are_listed_after_the_apps_with_secrets_redacted(
    deployment: dict[str, str],
) -> None:
    seen = drive(deployment, "system-tables")
    order = seen["tableOrder"]
    flags = [system for _, system in order]
    assert flags == sorted(flags) and flags[0] is False and flags[-1] is True  # app's first
    names = [name for name, system in order if system]
    assert {"_auth_accounts", "_auth_sessions", "_scheduled_functions", "_cron_jobs"} <= set(names)
    # Readable, but the session's token hash and the password hash never reach the page.
    assert seen["sessionSecret"] == "[redacted]" and seen["accountSecret"] == "[redacted]"
    assert seen["sessionSubject"].startswith('"') and seen["accountEmail"] == '"lin@example.com"'
    assert seen["argonShown"] is False
    assert (ARTIFACTS / "data-system-tables.png").exists()


def test_a_wrong_admin_key_is_refused(deployment: dict[str, str]) -> None:
    seen = drive(deployment, "wrong-key")
    assert seen["error"] == "The admin key was refused: it is not this deployment's key."
    assert seen["navHidden"] is True
    assert seen["keyKept"] is None  # nothing of a refused key stays in the tab
    assert (ARTIFACTS / "wrong-key.png").exists()


def test_an_edit_shows_live_in_another_browser_context(deployment: dict[str, str]) -> None:
    inserted = (
        '{ title: "added from the dashboard", status: "todo", tags: ["routine"], '
        "createdAt: 0, updatedAt: 0 }"
    )
    seen = drive(
        deployment,
        "live-edit",
        title="write the docs",
        newTitle="write the docs today",
        inserted=inserted,
    )
    # The invalid edit was refused with the schema error shown inline...
    assert seen["schemaError"].startswith("SchemaValidationError: Failed to insert or update")
    assert 'Value: "someday"' in seen["schemaError"]
    # ...and the valid one reached the other context without a reload.
    assert '"write the docs today"' in seen["watcherTitles"]
    assert '"write the docs"' not in seen["watcherTitles"]
    assert seen["sameDocument"] is True
    # An inserted document appeared in the other context, and left it when deleted.
    assert seen["insertedSeen"] is True and seen["deletedSeen"] is True
    assert (ARTIFACTS / "data-live-update.png").exists()


def test_run_a_function_and_see_its_log_line(deployment: dict[str, str]) -> None:
    args = '{ event: "user.created", data: { name: "Grace", email: "grace@example.com" } }'
    seen = drive(deployment, "run-function", args=args)
    assert seen["validator"] == "v.object({ event: v.string(), data: v.any() })"
    assert seen["status"].startswith("success")
    assert seen["value"] == "{ processed: true }"
    assert seen["logLines"] == "[LOG] Webhook received: user.created"
    assert seen["internalStatus"].startswith("success")  # tasks:cleanup is internal
    assert seen["failedStatus"].startswith("error")
    assert "[LOG] Webhook received: user.created" in seen["logEntry"]
    # The Logs page filters by kind and by outcome.
    assert ["tasks:cleanup", "mutation", "success"] in seen["mutationsOnly"]
    assert all(kind == "mutation" for _, kind, _ in seen["mutationsOnly"])
    assert ["tasks:get", "query", "failure"] in seen["failuresOnly"]
    assert all(outcome == "failure" for _, _, outcome in seen["failuresOnly"])
    assert seen["cronTrigger"] == 'cron "categorize pending tasks"'
    assert (ARTIFACTS / "functions.png").exists() and (ARTIFACTS / "logs.png").exists()


def test_cancel_a_scheduled_function(deployment: dict[str, str]) -> None:
    # The job was scheduled by the example's reports:scheduleWeekly (see the fixture).
    seen = drive(deployment, "cancel-job", jobId=deployment["jobId"])
    assert seen["before"] == "pending" and seen["after"] == "canceled"
    digest = seen["digest"]
    assert digest["function"] == "emails:sendDailyDigest"
    assert digest["schedule"] == "daily at 00:00 UTC"
    assert digest["nextRun"] and digest["lastRun"] == "never"
    interval = seen["interval"]
    assert interval["schedule"] == "every 5 minutes" and interval["lastRun"] != "never"
    assert interval["lastResult"] == "success 0"  # no task to categorize yet at start
    for name in ("scheduler", "scheduler-canceled", "scheduler-crons"):
        assert (ARTIFACTS / f"{name}.png").exists()


def test_files_environment_and_health_pages(deployment: dict[str, str]) -> None:
    seen = drive(deployment, "other-pages")
    assert "text/plain" in seen["fileRow"] and "30 B" in seen["fileRow"]
    assert seen["preview"] == "hello from the dashboard test\n"
    assert "The environment variable name 1bad is invalid" in seen["envError"]
    assert seen["envAfterEdit"]["variables"]["GREETING"] == "hi there"
    assert "GREETING" not in seen["envAfterRemove"]["variables"]
    health = seen["health"]
    assert set(health) == {
        "commits-per-second",
        "connections",
        "subscriptions",
        "cache-hit-rate",
        "occ",
        "uptime",
    }
    # The page's own requests are plain HTTP; the one sync client and its query show up.
    assert health["connections"] == "1" and health["subscriptions"] == "1"
    assert health["commits-per-second"].replace(".", "").isdigit()
    for name in ("files", "env", "health"):
        assert (ARTIFACTS / f"{name}.png").exists()
