// Functions: every function with its argument validator; run any of them with JSON arguments.

import { request } from "../api.js";
import { errorBox, h, replace } from "../dom.js";
import { describe, example } from "../validators.js";
import { ParseError, format, fromWire, parse, toWire } from "../values.js";

export function mount(container, args) {
  const list = h("ul", { class: "list", id: "functions" });
  const detail = h("div", { class: "panel", id: "function-detail" }, h("p", { class: "muted" }, "Choose a function."));
  container.append(h("div", { class: "layout" }, h("div", { class: "panel" }, h("h2", {}, "Functions"), list), detail));
  let functions = [];
  let selected = args.join("/") || null;

  async function load() {
    let answer;
    try {
      answer = await request("/api/admin/functions");
    } catch (error) {
      replace(list, errorBox(error.message));
      return;
    }
    functions = answer.functions;
    renderList(answer.httpRoutes);
    if (selected) select(selected);
  }

  function renderList(routes) {
    replace(
      list,
      functions.map((fn) =>
        h(
          "li",
          {},
          h(
            "button",
            { class: fn.path === selected ? "selected" : "", dataset: { path: fn.path }, onclick: () => select(fn.path) },
            h("span", { class: "mono" }, fn.path),
            h("span", {}, h("span", { class: `badge ${fn.kind}` }, fn.kind[0].toUpperCase()), fn.visibility === "internal" ? h("span", { class: "badge internal" }, "internal") : null),
          ),
        ),
      ),
      routes.length ? h("li", { class: "muted" }, h("h3", {}, "HTTP routes")) : null,
      routes.map((route) => h("li", { class: "mono" }, `${route.method} ${route.path}`)),
    );
  }

  function select(path) {
    selected = path;
    history.replaceState(null, "", `#/functions/${path}`);
    for (const button of list.querySelectorAll("button")) {
      button.classList.toggle("selected", button.dataset.path === path);
    }
    const fn = functions.find((f) => f.path === path);
    if (!fn) {
      replace(detail, errorBox(`No function ${path}`));
      return;
    }
    const text = h("textarea", { id: "function-args", spellcheck: "false" }, format(example(fn.args)));
    const result = h("div", { class: "result", id: "function-result" });
    const run = h("button", { class: "primary", id: "run-function" }, `Run ${fn.kind}`);
    run.addEventListener("click", async () => {
      let value;
      try {
        value = parse(text.value);
      } catch (error) {
        replace(result, errorBox(error instanceof ParseError ? error.message : String(error)));
        return;
      }
      run.disabled = true;
      replace(result, h("span", { class: "muted" }, "Running…"));
      const started = performance.now();
      try {
        const answer = await request("/api/function", {
          method: "POST",
          body: { path: fn.path, args: toWire(value), format: "convex_encoded_json" },
        });
        showResult(result, answer, performance.now() - started);
      } catch (error) {
        replace(result, errorBox(error.message));
      } finally {
        run.disabled = false;
      }
    });
    replace(
      detail,
      h("h2", { class: "mono", id: "function-path" }, fn.path),
      h("p", {}, h("span", { class: `badge ${fn.kind}` }, fn.kind), " ", h("span", { class: `badge ${fn.visibility}` }, fn.visibility)),
      h("h3", {}, "Arguments"),
      h("pre", { id: "function-validator" }, describe(fn.args)),
      fn.returns ? [h("h3", {}, "Returns"), h("pre", {}, describe(fn.returns))] : null,
      h("h3", {}, "Run with arguments"),
      text,
      h("div", { class: "toolbar" }, run, h("span", { class: "muted" }, "Internal functions run too: this is the admin.")),
      result,
    );
  }

  load();
  return () => {};
}

function showResult(container, answer, elapsedMs) {
  const success = answer.status === "success";
  replace(
    container,
    h(
      "div",
      { class: "status", id: "function-status" },
      h("span", { class: `badge ${success ? "success" : "failure"}` }, success ? "success" : "error"),
      h("span", { class: "muted" }, ` ${elapsedMs.toFixed(0)} ms`),
    ),
    success
      ? h("pre", { id: "function-value" }, format(fromWire(answer.value)))
      : errorBox(answer.errorData !== undefined ? `ConvexError: ${format(fromWire(answer.errorData))}` : answer.errorMessage),
    h("h3", {}, "Log lines"),
    h(
      "pre",
      { id: "function-logs" },
      answer.logLines && answer.logLines.length ? answer.logLines.join("\n") : h("span", { class: "muted" }, "(none)"),
    ),
  );
}
