// Data: tables, documents by index with filters, editing with inline schema errors, live updates.

import { ApiError, query, request, watchTables } from "../api.js";
import { errorBox, h, replace } from "../dom.js";
import { describe, example } from "../validators.js";
import { ParseError, format, formatInline, fromWire, parse, toWire, userFields } from "../values.js";

const PAGE_SIZE = 50;
const REDACTED = "[redacted]";
const MAX_PAGE = 1000; // the server's largest page
const OPERATORS = [
  ["eq", "="],
  ["neq", "≠"],
  ["lt", "<"],
  ["lte", "≤"],
  ["gt", ">"],
  ["gte", "≥"],
];

export function mount(container, args) {
  const alive = new AbortController();
  const state = {
    tables: [],
    // A system table named in the URL shows the system tables too.
    showSystem: (args[0] || "").startsWith("_"),
    table: args[0] || null,
    index: "by_creation_time",
    order: "desc",
    filters: [],
    documents: [],
    cursor: null,
    isDone: true,
    view: null, // the AbortController of the selected table's live updates
  };

  const tableList = h("ul", { class: "list", id: "tables" });
  const systemToggle = h("input", {
    type: "checkbox",
    id: "show-system",
    checked: state.showSystem,
    onchange: () => {
      state.showSystem = systemToggle.checked;
      loadTables();
    },
  });
  const sidebar = h(
    "div",
    { class: "panel" },
    h("h2", {}, "Tables"),
    tableList,
    h("label", { class: "muted" }, systemToggle, " system tables"),
  );
  const main = h("div", { class: "panel", id: "table-view" });
  container.append(h("div", { class: "layout" }, sidebar, main));

  async function loadTables() {
    try {
      const answer = await request(`/api/admin/tables${query({ system: state.showSystem ? 1 : "" })}`);
      state.tables = answer.tables;
    } catch (error) {
      replace(tableList, errorBox(error.message));
      return;
    }
    if (!state.table && state.tables.length) state.table = state.tables[0].name;
    renderTableList();
    if (!state.view) selectTable(state.table);
  }

  function renderTableList() {
    const button = (table) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            class: table.name === state.table ? "selected" : "",
            dataset: { table: table.name, system: table.system ? "1" : "" },
            onclick: () => {
              history.replaceState(null, "", `#/data/${encodeURIComponent(table.name)}`);
              selectTable(table.name);
            },
          },
          h("span", {}, table.name),
          h("span", { class: "muted" }, `${table.count}${table.countIsExact ? "" : "+"}`),
        ),
      );
    // The app's tables first; system tables (read-only, secrets redacted) below them.
    const user = state.tables.filter((table) => !table.system);
    const system = state.tables.filter((table) => table.system);
    replace(
      tableList,
      user.map(button),
      user.length ? null : h("li", { class: "muted" }, "No tables yet."),
      system.length ? h("li", { class: "muted", id: "system-tables" }, h("h3", {}, "System tables")) : null,
      system.map(button),
    );
  }

  function tableInfo() {
    return state.tables.find((table) => table.name === state.table) || null;
  }

  function selectTable(name) {
    state.view?.abort();
    state.view = new AbortController();
    state.table = name;
    state.index = "by_creation_time";
    state.order = "desc";
    state.filters = [];
    renderTableList();
    if (!name) {
      replace(main, h("p", { class: "muted" }, "No table selected."));
      return;
    }
    renderTableView();
    loadDocuments({ reset: true, watch: true });
  }

  // -- the selected table ---------------------------------------------------

  const parts = {};

  function renderTableView() {
    const info = tableInfo();
    const system = state.table.startsWith("_");
    parts.status = h("span", { class: "live", id: "live" }, "");
    parts.error = h("div", { id: "table-error" });
    parts.grid = h("div", { class: "scroll" });
    parts.more = h("button", { id: "load-more", onclick: () => loadDocuments({ reset: false }) }, "Load more");
    parts.editor = h("div", { id: "editor" });
    parts.schema = h("div", { id: "schema", hidden: true }, schemaView(info));
    const indexSelect = h(
      "select",
      {
        id: "index",
        onchange: () => {
          state.index = indexSelect.value;
          loadDocuments({ reset: true });
        },
      },
      (info?.indexes || [{ name: "by_creation_time", fields: [] }]).map((index) =>
        h(
          "option",
          { value: index.name, selected: index.name === state.index },
          `${index.name}${index.fields.length ? ` (${index.fields.join(", ")})` : ""}`,
        ),
      ),
    );
    const orderSelect = h(
      "select",
      {
        id: "order",
        onchange: () => {
          state.order = orderSelect.value;
          loadDocuments({ reset: true });
        },
      },
      h("option", { value: "desc", selected: state.order === "desc" }, "descending"),
      h("option", { value: "asc", selected: state.order === "asc" }, "ascending"),
    );
    replace(
      main,
      h(
        "div",
        { class: "toolbar" },
        h("h2", { id: "table-name" }, state.table),
        parts.status,
        h("span", { class: "spacer" }),
        h("label", {}, "Index ", indexSelect),
        orderSelect,
        system ? null : h("button", { id: "add-document", onclick: () => openEditor(null) }, "Add document"),
        h(
          "button",
          { id: "show-schema", onclick: () => (parts.schema.hidden = !parts.schema.hidden) },
          "Schema & indexes",
        ),
      ),
      parts.schema,
      filterBar(),
      parts.error,
      parts.editor,
      parts.grid,
      parts.more,
    );
  }

  function schemaView(info) {
    if (!info) return h("p", { class: "muted" }, "This table does not exist yet.");
    return h(
      "div",
      { class: "panel" },
      h("h3", {}, "Document type"),
      h("pre", { id: "document-type" }, info.documentType ? describe(info.documentType) : "Not in the schema: any document."),
      h("h3", {}, "Indexes"),
      h(
        "table",
        { class: "grid", id: "indexes" },
        h("tr", {}, h("th", {}, "Name"), h("th", {}, "Fields"), h("th", {}, "State")),
        info.indexes.map((index) =>
          h(
            "tr",
            {},
            h("td", {}, index.name),
            h("td", { class: "value" }, [...index.fields, "_creationTime"].join(", ")),
            h("td", {}, index.state),
          ),
        ),
      ),
    );
  }

  function filterBar() {
    const field = h("input", { id: "filter-field", placeholder: "field (a.b for nested)", size: 18 });
    const op = h("select", { id: "filter-op" }, OPERATORS.map(([v, label]) => h("option", { value: v }, label)));
    const value = h("input", { id: "filter-value", placeholder: 'value: "text", 3, true, 5n', size: 22 });
    const chips = h(
      "span",
      { id: "filters" },
      state.filters.map((filter, i) =>
        h(
          "button",
          {
            class: "badge",
            title: "Remove this filter",
            onclick: () => {
              state.filters.splice(i, 1);
              renderTableView();
              loadDocuments({ reset: true });
            },
          },
          `${filter.field} ${OPERATORS.find(([v]) => v === filter.op)[1]} ${formatInline(filter.value)} ✕`,
        ),
      ),
    );
    const apply = (event) => {
      event.preventDefault();
      if (!field.value.trim()) return;
      let parsed;
      try {
        parsed = parse(value.value);
      } catch {
        parsed = value.value; // not a value literal: compare as a string
      }
      state.filters.push({ field: field.value.trim(), op: op.value, value: parsed });
      renderTableView();
      loadDocuments({ reset: true });
    };
    return h(
      "form",
      { class: "toolbar filters", id: "filter-form", onsubmit: apply },
      h("span", { class: "muted" }, "Filter"),
      field,
      op,
      value,
      h("button", { type: "submit", id: "add-filter" }, "Apply"),
      chips,
    );
  }

  async function loadDocuments({ reset, watch = false, keep = 0 }) {
    const table = state.table;
    const view = state.view;
    const params = {
      index: state.index,
      order: state.order,
      numItems: Math.min(MAX_PAGE, Math.max(PAGE_SIZE, keep)),
      cursor: reset ? "" : state.cursor,
      filters: state.filters.length
        ? JSON.stringify(state.filters.map((f) => ({ field: f.field, op: f.op, value: toWire(f.value) })))
        : "",
    };
    let answer;
    try {
      answer = await request(`/api/admin/tables/${encodeURIComponent(table)}/documents${query(params)}`, {
        signal: view.signal,
      });
    } catch (error) {
      if (view.signal.aborted) return;
      replace(parts.error, errorBox(error.message));
      return;
    }
    if (view.signal.aborted || table !== state.table) return;
    replace(parts.error);
    const page = answer.page.map(fromWire);
    state.documents = reset ? page : [...state.documents, ...page];
    state.cursor = answer.continueCursor;
    state.isDone = answer.isDone;
    renderDocuments();
    if (watch) {
      parts.status.textContent = "● live";
      watchTables([table], answer.ts, view.signal, () =>
        loadDocuments({ reset: true, keep: state.documents.length }),
      );
    }
  }

  function columns() {
    const names = new Set(["_id"]);
    for (const document of state.documents) {
      for (const key of Object.keys(document)) if (key !== "_creationTime") names.add(key);
    }
    names.add("_creationTime");
    return [...names];
  }

  function renderDocuments() {
    const system = state.table.startsWith("_");
    const names = columns();
    parts.more.hidden = state.isDone;
    if (!state.documents.length) {
      replace(parts.grid, h("p", { class: "muted", id: "no-documents" }, "No documents."));
      return;
    }
    replace(
      parts.grid,
      h(
        "table",
        { class: "grid", id: "documents" },
        h("tr", {}, names.map((name) => h("th", {}, name)), system ? null : h("th", {}, "")),
        state.documents.map((document) =>
          h(
            "tr",
            { dataset: { id: document._id } },
            names.map((name) => {
              // The server sends sign-in secrets of system tables as "[redacted]".
              if (system && document[name] === REDACTED) {
                return h("td", { class: "value muted", dataset: { field: name } }, REDACTED);
              }
              const text = name in document ? formatInline(document[name]) : "";
              return h("td", { class: "value", title: text, dataset: { field: name } }, text);
            }),
            system ? null : h("td", { class: "actions" }, rowActions(document)),
          ),
        ),
      ),
    );
  }

  function rowActions(document) {
    const remove = h("button", { class: "danger", dataset: { action: "delete" } }, "Delete");
    remove.addEventListener("click", async () => {
      if (!remove.classList.contains("confirm")) {
        remove.classList.add("confirm");
        remove.textContent = "Confirm delete";
        return;
      }
      try {
        await request(`/api/admin/documents/${encodeURIComponent(document._id)}`, { method: "DELETE" });
      } catch (error) {
        replace(parts.error, errorBox(error.message));
        return;
      }
      loadTables();
    });
    return [h("button", { dataset: { action: "edit" }, onclick: () => openEditor(document) }, "Edit"), " ", remove];
  }

  // -- the editor -------------------------------------------------------------

  function openEditor(document) {
    const info = tableInfo();
    const initial = document ? userFields(document) : example(info?.documentType);
    const text = h("textarea", { id: "editor-text", spellcheck: "false" }, format(initial));
    const error = h("div", { id: "editor-error" });
    const save = async () => {
      let value;
      try {
        value = parse(text.value);
      } catch (problem) {
        replace(error, errorBox(problem instanceof ParseError ? problem.message : String(problem)));
        return;
      }
      try {
        if (document) {
          await request(`/api/admin/documents/${encodeURIComponent(document._id)}`, {
            method: "PUT",
            body: { value: toWire(value) },
          });
        } else {
          await request(`/api/admin/tables/${encodeURIComponent(state.table)}/documents`, {
            method: "POST",
            body: { value: toWire(value) },
          });
          loadTables();
        }
      } catch (problem) {
        const message = problem instanceof ApiError ? `${problem.code}: ${problem.message}` : problem.message;
        replace(error, errorBox(message));
        return;
      }
      replace(parts.editor);
      loadDocuments({ reset: true, keep: state.documents.length });
    };
    replace(
      parts.editor,
      h(
        "div",
        { class: "editor" },
        h("strong", {}, document ? `Edit ${document._id}` : `New document in ${state.table}`),
        text,
        error,
        h(
          "div",
          { class: "toolbar" },
          h("button", { class: "primary", id: "editor-save", onclick: save }, document ? "Save" : "Insert"),
          h("button", { id: "editor-cancel", onclick: () => replace(parts.editor) }, "Cancel"),
          h("span", { class: "muted" }, "Numbers are float64; write 12n for an int64."),
        ),
      ),
    );
    text.focus();
  }

  loadTables();
  return () => {
    alive.abort();
    state.view?.abort();
  };
}
