// Logs: a live stream of function runs (the long poll `pyconvex logs` uses), filterable.

import { query, request, sleep } from "../api.js";
import { h, formatTime, replace } from "../dom.js";

const KEEP = 1000;

export function mount(container) {
  const alive = new AbortController();
  const runs = [];
  const search = h("input", { id: "log-search", type: "search", placeholder: "filter by path or text", size: 28 });
  const kind = h(
    "select",
    { id: "log-kind" },
    h("option", { value: "" }, "all kinds"),
    ["query", "mutation", "action", "http"].map((k) => h("option", { value: k }, k)),
  );
  const failures = h("input", { type: "checkbox", id: "log-failures" });
  const status = h("span", { class: "live", id: "log-status" }, "connecting…");
  const list = h("div", { id: "logs" });
  for (const control of [search, kind, failures]) control.addEventListener("input", render);
  container.append(
    h(
      "div",
      { class: "panel" },
      h(
        "div",
        { class: "toolbar" },
        h("h2", {}, "Function runs"),
        status,
        h("span", { class: "spacer" }),
        search,
        kind,
        h("label", {}, failures, " failures only"),
        h("button", { onclick: () => { runs.length = 0; render(); } }, "Clear"),
      ),
      list,
    ),
  );

  function matches(run) {
    if (kind.value && run.kind !== kind.value) return false;
    if (failures.checked && run.outcome === "success") return false;
    const text = search.value.trim().toLowerCase();
    if (!text) return true;
    return [run.path, run.error || "", run.trigger || "", ...run.logLines].some((s) => s.toLowerCase().includes(text));
  }

  function render() {
    const shown = runs.filter(matches).slice(-KEEP).reverse();
    replace(
      list,
      shown.length ? null : h("p", { class: "muted" }, "No function runs yet."),
      shown.map((run) =>
        h(
          "div",
          { class: "log", dataset: { path: run.path, kind: run.kind, outcome: run.outcome } },
          h(
            "div",
            { class: "head" },
            h("span", { class: "muted mono" }, formatTime(run.startedAt)),
            h("span", { class: `badge ${run.outcome}` }, run.outcome === "success" ? "✓" : "✗"),
            h("span", { class: `badge ${run.kind}` }, run.kind),
            h("span", { class: "mono" }, run.path),
            h("span", { class: "muted" }, `${run.durationMs.toFixed(1)} ms`),
            // What started it, when not a client: `scheduled` or `cron "name"`.
            run.trigger ? h("span", { class: "badge trigger", dataset: { trigger: run.trigger } }, run.trigger) : null,
          ),
          run.logLines.length || run.error
            ? h(
                "pre",
                { class: "lines" },
                run.logLines.join("\n"),
                run.error ? h("div", { class: "failure-text" }, run.error) : null,
              )
            : null,
        ),
      ),
    );
  }

  (async () => {
    let cursor = 0;
    let wait = 0; // the backlog first, then long polls
    while (!alive.signal.aborted) {
      try {
        const answer = await request(`/api/admin/logs${query({ cursor, wait })}`, { signal: alive.signal });
        status.textContent = "● live";
        cursor = answer.cursor;
        if (answer.entries.length) {
          runs.push(...answer.entries);
          if (runs.length > KEEP) runs.splice(0, runs.length - KEEP);
          render();
        } else if (wait === 0) {
          render();
          wait = 25;
        }
      } catch {
        if (alive.signal.aborted) return;
        status.textContent = "reconnecting…";
        await sleep(2000, alive.signal);
      }
    }
  })();
  return () => alive.abort();
}
