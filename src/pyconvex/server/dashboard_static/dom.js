// Building DOM nodes. Text is always set as text, never parsed as HTML: the
// dashboard shows documents anyone could have written.

/**
 * Create an element: h("button", {class: "x", onclick: fn}, "text", child).
 * Attributes starting with "on" become listeners; `dataset` and `style` objects are merged;
 * null/undefined/false children are skipped; strings become text nodes.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset" || name === "style") {
      Object.assign(element[name], value);
    } else if (name in element && typeof value !== "string") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `element` with `children`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A short human time: "14:03:07" today, else "2024-05-01 14:03". */
export function formatTime(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return String(ms);
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

/** Bytes as "12.3 KB". */
export function formatSize(bytes) {
  if (typeof bytes !== "number") return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A message line that says what went wrong (class "error", role "alert"). */
export function errorBox(message) {
  return h("div", { class: "error", role: "alert" }, message);
}
