// Environment variables: view and edit (each change is one transaction).

import { request } from "../api.js";
import { errorBox, h, replace } from "../dom.js";

export function mount(container) {
  const list = h("div", { id: "env" });
  const error = h("div", { id: "env-error" });
  const name = h("input", { id: "env-name", placeholder: "NAME", size: 24 });
  const value = h("input", { id: "env-value", placeholder: "value", size: 40 });
  const form = h(
    "form",
    { class: "toolbar", id: "env-add" },
    name,
    value,
    h("button", { type: "submit", class: "primary" }, "Add / set"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    change([{ name: name.value.trim(), value: value.value }]).then((ok) => {
      if (ok) {
        name.value = "";
        value.value = "";
      }
    });
  });
  container.append(h("div", { class: "panel" }, h("h2", {}, "Environment variables"), list, error, form));

  async function change(changes) {
    try {
      const answer = await request("/api/admin/env", { method: "POST", body: { changes } });
      replace(error);
      render(answer.variables);
      return true;
    } catch (problem) {
      replace(error, errorBox(problem.message));
      return false;
    }
  }

  function render(variables) {
    const names = Object.keys(variables);
    if (!names.length) {
      replace(list, h("p", { class: "muted" }, "No environment variables."));
      return;
    }
    replace(
      list,
      h(
        "table",
        { class: "grid" },
        h("tr", {}, h("th", {}, "Name"), h("th", {}, "Value"), h("th", {}, "")),
        names.map((key) => {
          const input = h("input", { value: variables[key], size: 50, dataset: { name: key } });
          return h(
            "tr",
            { dataset: { name: key } },
            h("td", { class: "mono" }, key),
            h("td", {}, input),
            h(
              "td",
              { class: "actions" },
              h("button", { onclick: () => change([{ name: key, value: input.value }]) }, "Save"),
              " ",
              h("button", { class: "danger", onclick: () => change([{ name: key, value: null }]) }, "Remove"),
            ),
          );
        }),
      ),
    );
  }

  request("/api/admin/env")
    .then((answer) => render(answer.variables))
    .catch((problem) => replace(error, errorBox(problem.message)));
  return () => {};
}
