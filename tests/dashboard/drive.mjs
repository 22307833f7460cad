// Drives the dashboard in Debian's chromium with playwright-core, one scenario per run.
//
//   node drive.mjs <scenario> <deployment url> <admin key> <artifacts dir> [<json options>]
//
// Prints one JSON line with what it saw (the pytest side asserts on it) and saves a
// screenshot of each page it visits in the artifacts folder. Any failed wait exits non-zero.

import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [scenario, url, adminKey, artifacts, rawOptions] = process.argv.slice(2);
const options = rawOptions ? JSON.parse(rawOptions) : {};
const TIMEOUT = 15_000;

// This machine's network is closed: keep chromium from reaching out at all.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

fs.mkdirSync(artifacts, { recursive: true });

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

async function signedIn(browser, hash = "#/data") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.errors = errors;
  await page.goto(`${url}/dashboard/`);
  await page.fill("#admin-key", adminKey);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#nav:not([hidden])");
  if (hash !== "#/data") {
    await page.goto(`${url}/dashboard/${hash}`);
  }
  return page;
}

// An admin API call from the page, with the key the page signed in with.
async function request(page, path) {
  return page.evaluate(async (target) => {
    const key = sessionStorage.getItem("pyconvex.adminKey");
    const response = await fetch(target, { headers: { Authorization: `Convex ${key}` } });
    return response.json();
  }, path);
}

async function rowOf(page, title) {
  const row = page.locator("#documents tr", { hasText: title });
  await row.first().waitFor();
  return row.first();
}

const scenarios = {
  // Sign in, list the tables, open one, show its schema and indexes.
  async browse(browser) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await page.goto(`${url}/dashboard/`);
    await page.waitForSelector("#sign-in:not([hidden])");
    await shot(page, "sign-in");
    await page.fill("#admin-key", adminKey);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#tables button");
    const tables = await page.locator("#tables button").evaluateAll((buttons) =>
      buttons.map((b) => [b.dataset.table, b.lastElementChild.textContent]),
    );
    await page.click('#tables button[data-table="tasks"]');
    await page.waitForFunction(() => document.querySelector("#table-name")?.textContent === "tasks");
    await page.waitForSelector("#documents tr[data-id]");
    const titles = await page
      .locator('#documents td[data-field="title"]')
      .evaluateAll((cells) => cells.map((c) => c.textContent));
    await page.click("#show-schema");
    const documentType = await page.textContent("#document-type");
    const indexes = await page.locator("#indexes tr td:first-child").allTextContents();
    await shot(page, "data");
    // Filter by field: only the tasks whose title matches.
    await page.fill("#filter-field", "title");
    await page.fill("#filter-value", '"write the docs"');
    await page.click("#add-filter");
    await page.waitForFunction(() => document.querySelectorAll("#documents tr[data-id]").length === 1);
    const filtered = await page
      .locator('#documents td[data-field="title"]')
      .evaluateAll((cells) => cells.map((c) => c.textContent));
    const keyKept = await page.evaluate(() => sessionStorage.getItem("pyconvex.adminKey") !== null);
    // Sorting: the same documents in the other direction, then by another index.
    await page.click("#filters button"); // drop the filter
    await page.waitForFunction(() => document.querySelectorAll("#documents tr[data-id]").length === 2);
    const titlesNow = () =>
      page.locator('#documents td[data-field="title"]').evaluateAll((cells) => cells.map((c) => c.textContent));
    const descending = await titlesNow();
    await page.selectOption("#order", "asc");
    await page.waitForFunction((first) => document.querySelector('#documents td[data-field="title"]')?.textContent !== first, descending[0]);
    const ascending = await titlesNow();
    await page.selectOption("#index", "by_status");
    await page.waitForFunction(() => document.querySelectorAll("#documents tr[data-id]").length === 2);
    const byStatus = await page.locator('#documents td[data-field="status"]').allTextContents();
    // What `pyconvex dashboard` opens: the key in the fragment signs in, then leaves the URL.
    const handed = await (await browser.newContext()).newPage();
    handed.setDefaultTimeout(TIMEOUT);
    await handed.goto(`${url}/dashboard/#adminKey=${encodeURIComponent(adminKey)}`);
    await handed.waitForSelector("#tables button");
    const handedOffUrl = handed.url();
    return {
      tables,
      titles,
      documentType,
      indexes,
      filtered,
      keyKept,
      handedOffUrl,
      descending,
      ascending,
      byStatus,
    };
  },

  // System tables: listed after the app's, readable, their secrets redacted.
  async "system-tables"(browser) {
    const page = await signedIn(browser);
    await page.waitForSelector("#tables button");
    await page.check("#show-system");
    await page.waitForSelector("#system-tables");
    const tableOrder = await page.locator("#tables button").evaluateAll((buttons) =>
      buttons.map((b) => [b.dataset.table, b.dataset.system === "1"]),
    );
    await page.click('#tables button[data-table="_auth_sessions"]');
    await page.waitForSelector('#documents td[data-field="secretHash"]');
    const sessionSecret = await page.textContent('#documents td[data-field="secretHash"]');
    const sessionSubject = await page.textContent('#documents td[data-field="subject"]');
    await shot(page, "data-system-tables");
    await page.click('#tables button[data-table="_auth_accounts"]');
    await page.waitForSelector('#documents td[data-field="secret"]');
    const accountSecret = await page.textContent('#documents td[data-field="secret"]');
    const accountEmail = await page.textContent('#documents td[data-field="email"]');
    const pageText = await page.textContent("body");
    return {
      tableOrder,
      sessionSecret,
      sessionSubject,
      accountSecret,
      accountEmail,
      argonShown: pageText.includes("$argon2"),
      errors: page.errors,
    };
  },

  // A wrong admin key is refused on the sign-in form.
  async "wrong-key"(browser) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await page.goto(`${url}/dashboard/`);
    await page.fill("#admin-key", "pyconvex-admin|not-the-key");
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#sign-in-error:not([hidden])");
    const error = await page.textContent("#sign-in-error");
    const navHidden = await page.locator("#nav").isHidden();
    const keyKept = await page.evaluate(() => sessionStorage.getItem("pyconvex.adminKey"));
    await shot(page, "wrong-key");
    return { error, navHidden, keyKept };
  },

  // Edit a document in one browser context; another context shows the change live.
  // A document that breaks the schema is refused with the error shown inline.
  async "live-edit"(browser) {
    const editor = await signedIn(browser, "#/data/tasks");
    const watcher = await signedIn(browser, "#/data/tasks");
    for (const page of [editor, watcher]) {
      await page.waitForFunction(() => document.querySelector("#live")?.textContent.includes("live"));
      await rowOf(page, options.title);
    }
    await watcher.evaluate(() => (window.notReloaded = true));
    const row = await rowOf(editor, options.title);
    await row.locator('button[data-action="edit"]').click();
    const original = await editor.inputValue("#editor-text");
    // Invalid first: a status the schema's union does not allow.
    await editor.fill("#editor-text", original.replace('status: "todo"', 'status: "someday"'));
    await editor.click("#editor-save");
    await editor.waitForSelector("#editor-error .error");
    const schemaError = await editor.textContent("#editor-error");
    await shot(editor, "data-schema-error");
    // Then a valid edit, which the watcher must show without reloading.
    await editor.fill("#editor-text", original.replace(options.title, options.newTitle));
    await editor.click("#editor-save");
    await editor.waitForSelector("#editor-text", { state: "detached" });
    await rowOf(watcher, options.newTitle);
    const sameDocument = await watcher.evaluate(() => window.notReloaded === true);
    await shot(watcher, "data-live-update");
    const watcherTitles = await watcher
      .locator('#documents td[data-field="title"]')
      .evaluateAll((cells) => cells.map((c) => c.textContent));
    // Insert a document: the watcher shows it; delete it: the watcher drops it.
    await editor.click("#add-document");
    await editor.fill("#editor-text", options.inserted);
    await editor.click("#editor-save");
    await editor.waitForSelector("#editor-text", { state: "detached" });
    const added = await rowOf(watcher, "added from the dashboard");
    const insertedSeen = (await added.textContent()).includes("routine");
    const remove = (await rowOf(editor, "added from the dashboard")).locator('button[data-action="delete"]');
    await remove.click();
    await remove.click(); // confirm
    await watcher.locator("#documents tr", { hasText: "added from the dashboard" }).waitFor({ state: "detached" });
    return {
      schemaError,
      watcherTitles,
      sameDocument,
      insertedSeen,
      deletedSeen: true,
      errors: [...editor.errors, ...watcher.errors],
    };
  },

  // Run a function with JSON arguments: its result and log line, then the Logs page.
  async "run-function"(browser) {
    const page = await signedIn(browser, "#/functions");
    await page.click('#functions button[data-path="actions:handleWebhook"]');
    const validator = await page.textContent("#function-validator");
    await page.fill("#function-args", options.args);
    await page.click("#run-function");
    await page.waitForSelector("#function-status");
    const status = await page.textContent("#function-status");
    const value = await page.textContent("#function-value");
    const logLines = await page.textContent("#function-logs");
    await shot(page, "functions");
    // An internal function runs too (the dashboard is the admin).
    await page.click('#functions button[data-path="tasks:cleanup"]');
    await page.fill("#function-args", "{}");
    await page.click("#run-function");
    await page.waitForSelector("#function-status");
    const internalStatus = await page.textContent("#function-status");
    // A call that fails (its arguments are refused) shows the error and is logged as a failure.
    await page.click('#functions button[data-path="tasks:get"]');
    await page.fill("#function-args", '{ id: "not an id" }');
    await page.click("#run-function");
    await page.waitForSelector("#function-status");
    const failedStatus = await page.textContent("#function-status");
    await page.goto(`${url}/dashboard/#/logs`);
    const entry = page.locator('#logs .log[data-path="actions:handleWebhook"]');
    await entry.first().waitFor();
    const logEntry = await entry.first().textContent();
    await page.fill("#log-search", "no such function anywhere");
    await page.waitForFunction(() => document.querySelectorAll("#logs .log").length === 0);
    await page.fill("#log-search", "webhook");
    await entry.first().waitFor();
    await shot(page, "logs");
    await page.fill("#log-search", "");
    const shown = () =>
      page.locator("#logs .log").evaluateAll((runs) => runs.map((r) => [r.dataset.path, r.dataset.kind, r.dataset.outcome]));
    await page.selectOption("#log-kind", "mutation");
    await page.locator('#logs .log[data-path="tasks:cleanup"]').first().waitFor();
    const mutationsOnly = await shown();
    await page.selectOption("#log-kind", "");
    await page.check("#log-failures");
    await page.locator('#logs .log[data-path="tasks:get"]').first().waitFor();
    const failuresOnly = await shown();
    // Runs the scheduler started say so (the interval cron ran when the server started).
    await page.uncheck("#log-failures");
    await page.fill("#log-search", "categorize pending");
    await page.locator('#logs .log[data-path="tasks:categorizePending"] .badge.trigger').first().waitFor();
    const cronTrigger = await page
      .locator('#logs .log[data-path="tasks:categorizePending"] .badge.trigger')
      .first()
      .textContent();
    return {
      cronTrigger,
      validator,
      status,
      value,
      logLines,
      internalStatus,
      failedStatus,
      logEntry,
      mutationsOnly,
      failuresOnly,
      errors: page.errors,
    };
  },

  // Cancel a pending scheduled function.
  async "cancel-job"(browser) {
    const page = await signedIn(browser, "#/scheduler");
    const row = page.locator(`#jobs tr[data-id="${options.jobId}"]`);
    await row.waitFor();
    const before = await row.getAttribute("data-state");
    await shot(page, "scheduler");
    await row.locator('button[data-action="cancel"]').click();
    await row.waitFor({ state: "detached" }); // gone from the pending list
    await page.selectOption("#job-state", "canceled");
    const canceled = page.locator(`#jobs tr[data-id="${options.jobId}"]`);
    await canceled.waitFor();
    const after = await canceled.getAttribute("data-state");
    await shot(page, "scheduler-canceled");
    // Cron jobs with their schedule, next run and (once they ran) last run and result.
    const cron = (name) => page.locator(`#crons tr[data-name="${name}"]`);
    const cell = (name, field) => cron(name).locator(`td[data-field="${field}"]`).textContent();
    await cron("send daily digest").waitFor();
    const digest = {
      function: await cell("send daily digest", "function"),
      schedule: await cell("send daily digest", "schedule"),
      nextRun: await cell("send daily digest", "nextRun"),
      lastRun: await cell("send daily digest", "lastRun"),
    };
    // The interval cron runs when deployed: its last run shows up (live) once it finished.
    await page.waitForFunction(
      () => document.querySelector('#crons tr[data-name="categorize pending tasks"] td[data-field="lastRun"]')?.textContent !== "never",
    );
    const interval = {
      schedule: await cell("categorize pending tasks", "schedule"),
      lastRun: await cell("categorize pending tasks", "lastRun"),
      lastResult: await cell("categorize pending tasks", "lastResult"),
    };
    await shot(page, "scheduler-crons");
    return { before, after, digest, interval, errors: page.errors };
  },

  // Files (upload, preview, delete), environment variables and health.
  async "other-pages"(browser) {
    const page = await signedIn(browser, "#/files");
    await page.waitForSelector("#no-files");
    await page.setInputFiles("#file-input", {
      name: "hello.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("hello from the dashboard test\n"),
    });
    await page.click("#upload");
    const file = page.locator("#files tr[data-id]");
    await file.first().waitFor();
    const fileRow = await file.first().textContent();
    await file.first().locator('button[data-action="preview"]').click();
    await page.waitForSelector("#preview iframe");
    const frame = page.frameLocator("#preview iframe");
    const preview = await frame.locator("body").textContent();
    await shot(page, "files");
    const remove = file.first().locator('button[data-action="delete"]');
    await remove.click();
    await remove.click();
    await page.waitForSelector("#no-files");

    await page.goto(`${url}/dashboard/#/env`);
    await page.fill("#env-name", "GREETING");
    await page.fill("#env-value", "hello");
    await page.click("#env-add button[type=submit]");
    await page.waitForSelector('#env tr[data-name="GREETING"]');
    await page.fill("#env-name", "1bad");
    await page.fill("#env-value", "x");
    await page.click("#env-add button[type=submit]");
    await page.waitForSelector("#env-error .error");
    const envError = await page.textContent("#env-error");
    await shot(page, "env");
    const greeting = page.locator('#env tr[data-name="GREETING"]');
    await greeting.locator("input").fill("hi there");
    await greeting.locator("button", { hasText: "Save" }).click();
    await page.waitForFunction(
      () => document.querySelector('#env tr[data-name="GREETING"] input')?.value === "hi there" && !document.querySelector("#env-error .error"),
    );
    const envAfterEdit = await request(page, "/api/admin/env");
    await greeting.locator("button", { hasText: "Remove" }).click();
    await greeting.waitFor({ state: "detached" });
    const envAfterRemove = await request(page, "/api/admin/env");

    // A client subscribed over the sync protocol, as an app's frontend would be (from a
    // page of the deployment's origin: chromium blocks loopback sockets from about:blank).
    const app = await page.context().newPage();
    await app.goto(`${url}/dashboard/`);
    await app.evaluate(
      (base) =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(`${base.replace("http", "ws")}/api/1.48.0/sync`);
          window.appSocket = socket;
          socket.onopen = () => {
            socket.send(JSON.stringify({ type: "Connect", sessionId: crypto.randomUUID(), connectionCount: 0 }));
            socket.send(
              JSON.stringify({
                type: "ModifyQuerySet",
                baseVersion: 0,
                newVersion: 1,
                modifications: [{ type: "Add", queryId: 0, udfPath: "tasks:list", args: [{}] }],
              }),
            );
          };
          socket.onmessage = (event) => {
            if (JSON.parse(event.data).type === "Transition") resolve();
          };
          socket.onerror = () => reject(new Error("the sync socket failed"));
        }),
      url,
    );

    await page.goto(`${url}/dashboard/#/health`);
    await page.waitForSelector('[data-metric="commits-per-second"] .figure');
    // The second sample gives a rate.
    await page.waitForFunction(
      () => !document.querySelector('[data-metric="commits-per-second"] .figure').textContent.includes("…"),
    );
    await page.waitForFunction(
      () => document.querySelector('[data-metric="subscriptions"] .figure')?.textContent === "1",
    );
    const health = await page.locator("#health .card").evaluateAll((cards) =>
      Object.fromEntries(cards.map((c) => [c.dataset.metric, c.querySelector(".figure").textContent])),
    );
    await shot(page, "health");
    await app.close();
    return { fileRow, preview, envError, envAfterEdit, envAfterRemove, health, errors: page.errors };
  },
};

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
try {
  const result = await scenarios[scenario](browser);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
