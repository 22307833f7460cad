// Schedules: scheduled functions (pending and running ones can be canceled) and cron jobs.
//
// Jobs are `_scheduled_functions` rows read through the documents endpoint: one state at a
// time through the scheduler's own index (`by_state_scheduled_time`, so only those rows are
// read, soonest first), or every job newest first. Cron jobs come from /api/admin/cron_jobs
// with their schedule in words. Both follow the scheduler's writes live.

import { query, request, watchTables } from "../api.js";
import { errorBox, formatTime, h, replace } from "../dom.js";
import { formatInline, fromWire } from "../values.js";

const JOBS = "_scheduled_functions";
const CRONS = "_cron_jobs";
const BY_STATE = "by_state_scheduled_time";
// States still to come read soonest first; finished ones most recent first.
const UPCOMING = new Set(["pending", "inProgress"]);
const CANCELABLE = UPCOMING;

export function mount(container) {
  const alive = new AbortController();
  const stateFilter = h(
    "select",
    { id: "job-state" },
    ["pending", "inProgress", "success", "failed", "canceled", ""].map((kind) =>
      h("option", { value: kind }, kind || "all states"),
    ),
  );
  const jobs = h("div", { id: "jobs" });
  const crons = h("div", { id: "crons" });
  const error = h("div", { id: "jobs-error" });
  stateFilter.addEventListener("change", loadJobs);
  container.append(
    h(
      "div",
      { class: "panel" },
      h("div", { class: "toolbar" }, h("h2", {}, "Scheduled functions"), h("span", { class: "spacer" }), stateFilter),
      error,
      jobs,
    ),
    h(
      "div",
      { class: "panel", style: { marginTop: "16px" } },
      h("h2", {}, "Cron jobs"),
      h("p", { class: "muted" }, "Declared in convex/crons.py; times are shown in your time zone, schedules in UTC."),
      crons,
    ),
  );

  function jobsQuery() {
    const kind = stateFilter.value;
    if (!kind) return { index: "by_creation_time", order: "desc", numItems: 200 };
    return {
      index: BY_STATE,
      order: UPCOMING.has(kind) ? "asc" : "desc",
      numItems: 200,
      filters: JSON.stringify([{ field: "state.kind", op: "eq", value: kind }]),
    };
  }

  async function loadJobs() {
    let answer;
    try {
      answer = await request(`/api/admin/tables/${JOBS}/documents${query(jobsQuery())}`, { signal: alive.signal });
    } catch (problem) {
      if (!alive.signal.aborted) replace(jobs, errorBox(problem.message));
      return null;
    }
    renderJobs(answer.page.map(fromWire));
    return answer.ts;
  }

  function renderJobs(list) {
    if (!list.length) {
      const which = stateFilter.value ? `${stateFilter.value} ` : "";
      replace(jobs, h("p", { class: "muted", id: "no-jobs" }, `No ${which}scheduled functions.`));
      return;
    }
    replace(
      jobs,
      h(
        "table",
        { class: "grid" },
        h("tr", {}, ["Function", "Scheduled for", "State", "Arguments", "Completed", ""].map((t) => h("th", {}, t))),
        list.map((job) => {
          const kind = job.state?.kind ?? "?";
          return h(
            "tr",
            { dataset: { id: job._id, state: kind } },
            h("td", { class: "mono" }, String(job.name)),
            h("td", {}, formatTime(job.scheduledTime)),
            h("td", {}, h("span", { class: `badge ${kind}` }, kind), job.state?.error ? h("div", { class: "error" }, job.state.error) : null),
            h("td", { class: "value", title: formatInline(job.args) }, formatInline(job.args)),
            h("td", {}, job.completedTime !== undefined ? formatTime(job.completedTime) : ""),
            h("td", { class: "actions" }, CANCELABLE.has(kind) ? cancelButton(job, kind) : null),
          );
        }),
      ),
    );
  }

  function cancelButton(job, kind) {
    const title =
      kind === "inProgress"
        ? "The running action finishes, but what it schedules from now on is canceled."
        : "It will not run.";
    const button = h("button", { class: "danger", title, dataset: { action: "cancel" } }, "Cancel");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await request(`/api/admin/scheduled_functions/${encodeURIComponent(job._id)}/cancel`, { method: "POST" });
        replace(error);
      } catch (problem) {
        replace(error, errorBox(problem.message));
      }
      loadJobs();
    });
    return button;
  }

  async function loadCrons() {
    let answer;
    try {
      answer = await request("/api/admin/cron_jobs", { signal: alive.signal });
    } catch (problem) {
      if (!alive.signal.aborted) replace(crons, errorBox(problem.message));
      return null;
    }
    renderCrons(answer.cronJobs.map((row) => ({ ...fromWire(row), schedule: row.schedule })));
    return answer.ts;
  }

  function renderCrons(list) {
    if (!list.length) {
      replace(crons, h("p", { class: "muted", id: "no-crons" }, "No cron jobs (declare them in convex/crons.py)."));
      return;
    }
    const headings = ["Name", "Function", "Schedule", "Arguments", "Next run", "State", "Last run", "Last result"];
    replace(
      crons,
      h(
        "table",
        { class: "grid" },
        h("tr", {}, headings.map((t) => h("th", {}, t))),
        list.map((cron) => {
          const kind = cron.state?.kind ?? "?";
          const args = cron.args?.[0] ?? {};
          return h(
            "tr",
            { dataset: { id: cron._id, name: cron.name } },
            h("td", { class: "mono" }, cron.name),
            h("td", { class: "mono", dataset: { field: "function" } }, cron.function),
            h("td", { dataset: { field: "schedule" }, title: formatInline(cron.spec) }, cron.schedule),
            h("td", { class: "value", dataset: { field: "args" } }, formatInline(args)),
            h("td", { dataset: { field: "nextRun" } }, formatTime(cron.nextRun)),
            h("td", {}, h("span", { class: `badge ${kind}` }, kind === "inProgress" ? "running" : kind)),
            h("td", { dataset: { field: "lastRun" } }, cron.lastRun !== undefined ? formatTime(cron.lastRun) : "never"),
            h("td", { dataset: { field: "lastResult" } }, lastResult(cron.lastResult)),
          );
        }),
      ),
    );
  }

  (async () => {
    const [jobsTs, cronsTs] = await Promise.all([loadJobs(), loadCrons()]);
    const since = [jobsTs, cronsTs].filter(Boolean).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0];
    if (since) {
      watchTables([JOBS, CRONS], since, alive.signal, async (tables) => {
        if (!tables || tables.includes(JOBS)) await loadJobs();
        if (!tables || tables.includes(CRONS)) await loadCrons();
      });
    }
  })();
  return () => alive.abort();
}

function lastResult(result) {
  if (!result) return "";
  if (result.kind === "failed") {
    return [h("span", { class: "badge failed" }, "failed"), h("div", { class: "error" }, String(result.error))];
  }
  const value = result.value === undefined ? null : h("span", { class: "mono" }, ` ${formatInline(result.value)}`);
  return [h("span", { class: `badge ${result.kind}` }, result.kind), value];
}
