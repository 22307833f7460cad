// Schedules: scheduled functions (pending ones can be canceled) and cron jobs.
//
// Both are read as plain tables (`_scheduled_functions`, `_cron_jobs`) through the
// documents endpoint, so the page follows their rows as the scheduler writes them.

import { query, request, watchTables } from "../api.js";
import { errorBox, formatTime, h, replace } from "../dom.js";
import { formatInline, fromWire } from "../values.js";

const JOBS = "_scheduled_functions";
const CRONS = "_cron_jobs";

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
  const error = h("div", {});
  stateFilter.addEventListener("change", loadJobs);
  container.append(
    h(
      "div",
      { class: "panel" },
      h("div", { class: "toolbar" }, h("h2", {}, "Scheduled functions"), h("span", { class: "spacer" }), stateFilter),
      error,
      jobs,
    ),
    h("div", { class: "panel", style: { marginTop: "16px" } }, h("h2", {}, "Cron jobs"), crons),
  );

  async function rows(table, filters) {
    const params = { numItems: 200, filters: filters.length ? JSON.stringify(filters) : "" };
    const answer = await request(`/api/admin/tables/${table}/documents${query(params)}`, { signal: alive.signal });
    return { ts: answer.ts, rows: answer.page.map(fromWire) };
  }

  async function loadJobs() {
    const kind = stateFilter.value;
    let answer;
    try {
      answer = await rows(JOBS, kind ? [{ field: "state.kind", op: "eq", value: kind }] : []);
    } catch (problem) {
      if (!alive.signal.aborted) replace(jobs, errorBox(problem.message));
      return null;
    }
    renderJobs(answer.rows);
    return answer.ts;
  }

  function renderJobs(list) {
    if (!list.length) {
      replace(jobs, h("p", { class: "muted", id: "no-jobs" }, "No scheduled functions."));
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
            h("td", { class: "actions" }, kind === "pending" ? cancelButton(job) : null),
          );
        }),
      ),
    );
  }

  function cancelButton(job) {
    const button = h("button", { class: "danger", dataset: { action: "cancel" } }, "Cancel");
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
      answer = await rows(CRONS, []);
    } catch (problem) {
      if (!alive.signal.aborted) replace(crons, errorBox(problem.message));
      return null;
    }
    renderCrons(answer.rows);
    return answer.ts;
  }

  function renderCrons(list) {
    if (!list.length) {
      replace(crons, h("p", { class: "muted", id: "no-crons" }, "No cron jobs (declare them in convex/crons.py)."));
      return;
    }
    const fields = new Set();
    for (const row of list) for (const key of Object.keys(row)) if (!key.startsWith("_") && key !== "name") fields.add(key);
    replace(
      crons,
      h(
        "table",
        { class: "grid" },
        h("tr", {}, h("th", {}, "Name"), [...fields].map((f) => h("th", {}, f))),
        list.map((row) =>
          h(
            "tr",
            { dataset: { id: row._id } },
            h("td", { class: "mono" }, String(row.name ?? row._id)),
            [...fields].map((f) => h("td", { class: "value" }, showField(f, row[f]))),
          ),
        ),
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

// Times are shown as dates: cron rows keep next and last runs in milliseconds.
function showField(name, value) {
  if (typeof value === "number" && /time|run|ts$/i.test(name) && value > 1e11) return formatTime(value);
  return value === undefined ? "" : formatInline(value);
}
