// The admin API, with the admin key from this tab's session storage.

const KEY = "pyconvex.adminKey";

/** A refused request: `code` and `message` as the server sent them. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function adminKey() {
  return sessionStorage.getItem(KEY);
}

export function setAdminKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** Listeners told when the server refuses the key (the app signs out). */
const refusedListeners = new Set();
export function onKeyRefused(listener) {
  refusedListeners.add(listener);
}

/**
 * Send a request with the admin key; resolve to the JSON body.
 * `options.body` objects are sent as JSON; Blob/File bodies as they are.
 */
export async function request(path, options = {}, key = adminKey()) {
  const headers = { ...(options.headers || {}) };
  if (key) headers.Authorization = `Convex ${key}`;
  let body = options.body;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== "string") {
    body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, { ...options, headers, body });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "Unreachable", `The deployment did not answer: ${error.message}`);
  }
  let parsed = null;
  const text = await response.text();
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const code = (parsed && parsed.code) || `HTTP${response.status}`;
    const message = (parsed && parsed.message) || text || response.statusText;
    if (response.status === 401 || response.status === 403) {
      for (const listener of refusedListeners) listener(message);
    }
    throw new ApiError(response.status, code, message);
  }
  return parsed;
}

/** Query-string helper that drops empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * Call `onChange(tables)` whenever a commit touches one of `tables` after `since`.
 * Long polls /api/admin/changes until `signal` aborts; returns at once.
 */
export function watchTables(tables, since, signal, onChange) {
  let cursor = since;
  (async () => {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const answer = await request(
          `/api/admin/changes${query({ since: cursor, tables: tables.join(","), wait: 25 })}`,
          { signal },
        );
        failures = 0;
        cursor = answer.ts;
        if (answer.tables === null || answer.tables.length > 0) await onChange(answer.tables);
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        await sleep(Math.min(5000, 250 * 2 ** failures), signal);
      }
    }
  })();
}

/** Resolve after `ms`, or early when `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
