// Health: commits/s, live connections and subscriptions, query-cache hit rate, OCC retries.

import { request, sleep } from "../api.js";
import { errorBox, h, replace } from "../dom.js";

const PERIOD_MS = 2000;

export function mount(container) {
  const alive = new AbortController();
  const cards = h("div", { class: "cards", id: "health" });
  const runs = h("div", { id: "function-runs" });
  const error = h("div", {});
  container.append(
    h("div", { class: "panel" }, h("h2", {}, "Health"), error, cards, h("h3", {}, "Function runs"), runs),
  );

  let previous = null;
  function card(id, label, figure, note) {
    return h(
      "div",
      { class: "card", dataset: { metric: id } },
      h("div", { class: "label" }, label),
      h("div", { class: "figure" }, figure),
      note ? h("div", { class: "muted" }, note) : null,
    );
  }

  function render(now, at) {
    const seconds = previous ? (at - previous.at) / 1000 : 0;
    const rate = (key) => (previous && seconds > 0 ? (now[key] - previous.now[key]) / seconds : null);
    const commitRate = rate("commits");
    const cache = now.queryCache;
    const hitRate = cache.lookups ? `${((100 * cache.hits) / cache.lookups).toFixed(1)}%` : "–";
    replace(
      cards,
      card("commits-per-second", "Commits / s", commitRate === null ? "…" : commitRate.toFixed(1), `${now.commits} since start`),
      card("connections", "Live connections", String(now.connections)),
      card("subscriptions", "Subscriptions", String(now.subscriptions)),
      card("cache-hit-rate", "Query-cache hit rate", hitRate, `${cache.hits} hits, ${cache.misses} misses`),
      card("occ", "OCC retries", String(now.occRetries), `${now.occConflicts} conflicts, ${now.occConflicts - now.occRetries} gave up`),
      card("uptime", "Up for", `${Math.floor(now.uptimeSeconds / 60)} min`),
    );
    const kinds = Object.keys(now.functionRuns);
    replace(
      runs,
      kinds.length
        ? h(
            "table",
            { class: "grid" },
            h("tr", {}, ["Kind", "Succeeded", "Failed", "Mean duration"].map((t) => h("th", {}, t))),
            kinds.map((kind) => {
              const figures = now.functionRuns[kind];
              const mean = figures.meanDurationMs;
              return h(
                "tr",
                {},
                h("td", {}, kind),
                h("td", {}, String(figures.success)),
                h("td", {}, String(figures.failure)),
                h("td", {}, mean === null ? "–" : `${mean.toFixed(1)} ms`),
              );
            }),
          )
        : h("p", { class: "muted" }, "No function runs yet."),
    );
    previous = { now, at };
  }

  (async () => {
    while (!alive.signal.aborted) {
      try {
        const now = await request("/api/admin/metrics", { signal: alive.signal });
        replace(error);
        render(now, performance.now());
      } catch (problem) {
        if (alive.signal.aborted) return;
        replace(error, errorBox(problem.message));
      }
      await sleep(PERIOD_MS, alive.signal);
    }
  })();
  return () => alive.abort();
}
