// Files: `_storage` with size and type, preview, upload, delete.

import { query, request, watchTables } from "../api.js";
import { errorBox, formatSize, formatTime, h, replace } from "../dom.js";
import { fromWire } from "../values.js";

export function mount(container) {
  const alive = new AbortController();
  const picker = h("input", { type: "file", id: "file-input" });
  const upload = h("button", { class: "primary", id: "upload" }, "Upload");
  const error = h("div", { id: "files-error" });
  const list = h("div", { id: "files" });
  const preview = h("div", { class: "preview", id: "preview" });
  container.append(
    h(
      "div",
      { class: "panel" },
      h("div", { class: "toolbar" }, h("h2", {}, "Files"), h("span", { class: "spacer" }), picker, upload),
      error,
      list,
      preview,
    ),
  );

  upload.addEventListener("click", async () => {
    const file = picker.files[0];
    if (!file) return;
    upload.disabled = true;
    try {
      await request("/api/admin/storage", {
        method: "POST",
        body: file,
        headers: { "Content-Type": file.type || "application/octet-stream" },
      });
      picker.value = "";
      replace(error);
    } catch (problem) {
      replace(error, errorBox(problem.message));
    } finally {
      upload.disabled = false;
    }
    load();
  });

  async function load() {
    let answer;
    try {
      answer = await request(`/api/admin/storage${query({ numItems: 200 })}`, { signal: alive.signal });
    } catch (problem) {
      if (!alive.signal.aborted) replace(list, errorBox(problem.message));
      return null;
    }
    render(answer.page.map(fromWire));
    return answer.ts;
  }

  function render(files) {
    if (!files.length) {
      replace(list, h("p", { class: "muted", id: "no-files" }, "No files stored."));
      return;
    }
    replace(
      list,
      h(
        "table",
        { class: "grid" },
        h("tr", {}, ["Storage ID", "Type", "Size", "Uploaded", ""].map((t) => h("th", {}, t))),
        files.map((file) =>
          h(
            "tr",
            { dataset: { id: file._id } },
            h("td", { class: "mono" }, file._id),
            h("td", {}, file.contentType || "unknown"),
            h("td", {}, formatSize(file.size)),
            h("td", {}, formatTime(file._creationTime)),
            h(
              "td",
              { class: "actions" },
              h("button", { dataset: { action: "preview" }, onclick: () => show(file) }, "Preview"),
              " ",
              h("a", { href: file.url, download: file._id, target: "_blank", rel: "noopener" }, "Download"),
              " ",
              deleteButton(file),
            ),
          ),
        ),
      ),
    );
  }

  function deleteButton(file) {
    const button = h("button", { class: "danger", dataset: { action: "delete" } }, "Delete");
    button.addEventListener("click", async () => {
      if (!button.classList.contains("confirm")) {
        button.classList.add("confirm");
        button.textContent = "Confirm delete";
        return;
      }
      try {
        await request(`/api/admin/storage/${encodeURIComponent(file._id)}`, { method: "DELETE" });
      } catch (problem) {
        replace(error, errorBox(problem.message));
      }
      replace(preview);
      load();
    });
    return button;
  }

  function show(file) {
    const type = file.contentType || "";
    let body;
    if (type.startsWith("image/")) body = h("img", { src: file.url, alt: file._id });
    else if (type.startsWith("video/")) body = h("video", { src: file.url, controls: true });
    else if (type.startsWith("audio/")) body = h("audio", { src: file.url, controls: true });
    else if (type.startsWith("text/") || type === "application/json" || type === "application/pdf") {
      body = h("iframe", { src: file.url, sandbox: "", title: file._id });
    } else body = h("p", { class: "muted" }, `No preview for ${type || "this type"}; download it instead.`);
    replace(preview, h("h3", {}, `Preview of ${file._id}`), body);
  }

  load().then((ts) => {
    if (ts) watchTables(["_storage"], ts, alive.signal, load);
  });
  return () => alive.abort();
}
