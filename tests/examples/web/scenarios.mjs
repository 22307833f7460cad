// Browser scenarios for the chat example, driven by playwright-core in Debian's chromium.
//
//   node scenarios.mjs <scenario> '<config JSON>'
//
// config: { app: URL of the built frontend, backend: the pyconvex server's URL,
//           artifacts: folder for screenshots, image: a PNG file to upload,
//           chromium: the browser binary }
//
// Each scenario opens fresh browser contexts (separate storage, like two people),
// saves a screenshot after every step under <artifacts>/<scenario>/, and prints one
// JSON line: {"ok": true, "screenshots": [...], "facts": {...}} or {"ok": false, "error"}.
// People sign in for real: in the page with the app's sign-in form (built-in sign-in),
// or, for data set up behind the scenes, over HTTP (/api/auth/signup, then the
// function API with the access token), as any script of the app's users could.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

// This machine has no network: without these Chromium stalls on background services.
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
const TIMEOUT = 20_000;
const PASSWORD = "correct horse battery";
/** A message row's id while only the optimistic update shows it (crypto.randomUUID()). */
const OPTIMISTIC_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const unique = () => Math.random().toString(36).slice(2, 8);

class Run {
  constructor(browser, config, name) {
    this.browser = browser;
    this.config = config;
    this.folder = join(config.artifacts, name);
    mkdirSync(this.folder, { recursive: true });
    this.screenshots = [];
    this.pages = [];
    this.pageErrors = [];
    this.facts = {};
  }

  /** A page in a fresh context (its own storage), opened at a tab of the app (`chat`) or
   * at another page of it (`clerk-like.html#chat`). */
  async open(label, path) {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 760 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.label = label;
    page.dialogs = [];
    page.consoleErrors = [];
    page.loads = 0;
    page.on("load", () => page.loads++);
    page.on("pageerror", (error) => this.pageErrors.push(`${label}: ${error.message}`));
    // What the page logs as errors (the Convex client's auth failures among them); resource
    // loads are left out (a missing favicon, the provider's login page's web fonts).
    page.on("console", (line) => {
      if (line.type() === "error" && !line.text().startsWith("Failed to load resource")) {
        page.consoleErrors.push(line.text());
      }
    });
    page.on("dialog", async (dialog) => {
      page.dialogs.push(dialog.message());
      await dialog.dismiss();
    });
    await page.goto(`${this.config.app}${path.includes(".html") ? path : `#${path}`}`);
    this.pages.push(page);
    return page;
  }

  /** Save a numbered screenshot of `page` named after the step. */
  async shot(page, step) {
    const number = String(this.screenshots.length + 1).padStart(2, "0");
    const path = join(this.folder, `${number}-${page.label}-${step}.png`);
    await page.screenshot({ path, fullPage: true });
    this.screenshots.push(path);
  }

  /** Create an account with the page's sign-up form; signed in as `name` when it returns. */
  async signUp(page, name) {
    const email = `${name.toLowerCase()}-${unique()}@example.com`;
    await page.getByTestId("sign-in-mode").click();
    await page.getByTestId("name").fill(name);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("sign-in-submit").click();
    // users:onSignIn (auth_config.py) made the user's record: users:me names them.
    await page.getByTestId("signed-in").filter({ hasText: name }).waitFor();
    return { name, email };
  }

  /** Someone who signed up over HTTP, for data set up behind the scenes: { name, token }. */
  async apiUser(name) {
    const response = await fetch(`${this.config.backend}/api/auth/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: `${name.toLowerCase()}-${unique()}@example.com`, password: PASSWORD, name }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return { name, token: (await response.json()).token };
  }

  /** Run a mutation over the HTTP function API as `user`; the whole answer. */
  async call(user, path, args) {
    return await callAs(this.config.backend, user.token, path, args);
  }

  /** Run a mutation as `user` and return its value (it must succeed). */
  async mutate(user, path, args) {
    const answer = await this.call(user, path, args);
    assert.equal(answer.status, "success", JSON.stringify(answer));
    return answer.value;
  }
}

/** POST /api/mutation with a bearer token; runs in Node and in the page alike. */
async function callAs(backend, token, path, args) {
  const response = await fetch(`${backend}/api/mutation`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ path, args, format: "json" }),
  });
  return await response.json();
}

async function openChannel(page, name) {
  await page.getByRole("button", { name: `# ${name}` }).click();
  await page.locator(".channels button.active", { hasText: name }).waitFor();
}

/** Create a channel with the sidebar's form (channels:create needs a signed-in user). */
async function createChannel(page, prefix) {
  const name = `${prefix}-${unique()}`;
  await page.getByPlaceholder("New channel").fill(name);
  await page.getByRole("button", { name: "Add" }).click();
  await page.locator(".channels button.active", { hasText: name }).waitFor();
  return name;
}

const messageTexts = (page) => page.locator('[data-testid="message-text"]').allTextContents();

async function waitForMessageCount(page, count) {
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="message"]').length === n,
    count
  );
}

async function until(condition, what = String(condition)) {
  const deadline = Date.now() + TIMEOUT;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function message(page, text) {
  return page.locator('[data-testid="message"]', { hasText: text });
}

/** Type and send `text`; the id of the first row that showed it (optimistic or not). */
async function send(page, text) {
  await page.evaluate((text) => {
    // Watch the DOM from before the click: the first row showing `text` tells whether the
    // optimistic update drew it (a client-made UUID) before the server's answer came.
    window.__firstRow = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        for (const row of document.querySelectorAll('[data-testid="message"]')) {
          if (row.querySelector('[data-testid="message-text"]')?.textContent === text) {
            observer.disconnect();
            resolve(row.getAttribute("data-id"));
            return;
          }
        }
      });
      observer.observe(document.body, { childList: true, subtree: true, attributes: true });
    });
  }, text);
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("send").click();
  return await page.evaluate(() => window.__firstRow);
}

/** The server's id of the message showing `text` (once the optimistic row is replaced). */
async function messageId(page, text) {
  const row = message(page, text);
  await until(async () => !OPTIMISTIC_ID.test((await row.getAttribute("data-id")) ?? ""), "the server's id");
  return await row.getAttribute("data-id");
}

const scenarios = {
  /** Two signed-in people in one channel: messages, reactions, edits and deletes show up
   * live in both windows, and only the author may edit or delete. */
  async liveMessages(run) {
    const ada = await run.open("ada", "chat");
    const bob = await run.open("bob", "chat");
    // Signed out, the message box says so and the header offers the sign-in form.
    await ada.getByTestId("sign-in-form").waitFor();
    await run.shot(ada, "signed-out");
    await run.signUp(ada, "Ada");
    await run.signUp(bob, "Bob");
    const name = await createChannel(ada, "live");
    await openChannel(bob, name); // the new channel reached Bob's list live
    for (const page of [ada, bob]) await run.shot(page, "signed-in-channel-open");

    const firstRow = await send(ada, "Hello from Ada");
    assert.match(firstRow, OPTIMISTIC_ID, "the optimistic update shows the message before the server answers");
    run.facts.optimisticId = firstRow;
    const id = await messageId(ada, "Hello from Ada");
    for (const page of [ada, bob]) {
      await message(page, "Hello from Ada").waitFor();
      assert.equal(await message(page, "Hello from Ada").locator(".author").textContent(), "Ada");
      await run.shot(page, "message-arrived");
    }

    // Ownership: Ada's message has Edit/Delete for Ada only; Bob forcing the calls fails.
    assert.equal(await message(ada, "Hello from Ada").getByTestId("edit").count(), 1);
    assert.equal(await message(bob, "Hello from Ada").getByTestId("edit").count(), 0);
    assert.equal(await message(bob, "Hello from Ada").getByTestId("delete").count(), 0);
    run.facts.forced = await bob.evaluate(
      async ({ backend, id, callAsSource }) => {
        const callAs = new Function(`return (${callAsSource})`)();
        const token = localStorage.getItem("pyconvex:token");
        const edit = await callAs(backend, token, "messages:update", { id, text: "Bob was here" });
        const remove = await callAs(backend, token, "messages:remove", { id });
        return [edit, remove].map((answer) => [answer.status, answer.errorData]);
      },
      { backend: run.config.backend, id, callAsSource: callAs.toString() }
    );
    assert.deepEqual(run.facts.forced, [["error", "Not authorized"], ["error", "Not authorized"]]);
    for (const page of [ada, bob]) {
      assert.deepEqual(await messageTexts(page), ["Hello from Ada"]);
      await run.shot(page, "ownership-enforced");
    }

    // Reactions from both, seen by both.
    await message(bob, "Hello from Ada").getByTitle("React with 👍").click();
    await message(ada, "Hello from Ada").getByTestId("reaction").filter({ hasText: "👍 1" }).waitFor();
    await message(ada, "Hello from Ada").getByTitle("React with 👍").click();
    for (const page of [ada, bob]) {
      await message(page, "Hello from Ada").getByTestId("reaction").filter({ hasText: "👍 2" }).waitFor();
      await run.shot(page, "reactions");
    }

    // Bob answers; his message is his to edit, not Ada's.
    await send(bob, "Hi Ada, Bob here");
    await message(ada, "Hi Ada, Bob here").waitFor();
    assert.equal(await message(ada, "Hi Ada, Bob here").getByTestId("edit").count(), 0);
    assert.equal(await message(bob, "Hi Ada, Bob here").getByTestId("edit").count(), 1);
    for (const page of [ada, bob]) await run.shot(page, "reply");

    // Ada edits, then deletes, her message from the UI.
    await message(ada, "Hello from Ada").getByTestId("edit").click();
    await ada.getByTestId("edit-input").fill("Hello, edited");
    await ada.getByRole("button", { name: "Save" }).click();
    for (const page of [ada, bob]) {
      await message(page, "Hello, edited").waitFor();
      await run.shot(page, "edited");
    }
    await message(ada, "Hello, edited").getByTestId("delete").click();
    for (const page of [ada, bob]) {
      await waitForMessageCount(page, 1);
      assert.deepEqual(await messageTexts(page), ["Hi Ada, Bob here"]);
      await run.shot(page, "deleted");
    }

    // Bob signs out: back to reading only.
    await bob.getByTestId("sign-out").click();
    await bob.getByTestId("sign-in-form").waitFor();
    // users:me re-runs signed out and answers null: the box turns read-only.
    await bob.getByPlaceholder("Sign in to post messages").waitFor();
    assert.ok(await bob.getByTestId("message-input").isDisabled());
    await run.shot(bob, "signed-out-again");
    run.facts.loads = [ada.loads, bob.loads]; // every change above arrived over the open WebSocket
  },

  /** The newest page first; "Load more" brings older messages; new ones still arrive. */
  async pagination(run) {
    const poster = await run.apiUser("Hist");
    const name = `history-${unique()}`;
    const channelId = await run.mutate(poster, "channels:create", { name });
    const texts = Array.from({ length: 25 }, (_, i) => `Message ${String(i + 1).padStart(2, "0")}`);
    for (const text of texts) await run.mutate(poster, "messages:create", { channelId, text });
    const page = await run.open("reader", "chat");
    await run.signUp(page, "Reader");
    await openChannel(page, name);
    await waitForMessageCount(page, 15);
    const first = await messageTexts(page);
    assert.deepEqual(first, texts.slice(10)); // oldest at the top, newest at the bottom
    await run.shot(page, "first-page");

    await page.getByTestId("load-more").click();
    await waitForMessageCount(page, 25);
    assert.deepEqual(await messageTexts(page), texts);
    await page.getByText("The beginning of the channel.").waitFor();
    assert.equal(await page.getByTestId("load-more").count(), 0);
    await run.shot(page, "all-loaded");

    await run.mutate(poster, "messages:create", { channelId, text: "Message 26" });
    await waitForMessageCount(page, 26);
    assert.equal((await messageTexts(page)).at(-1), "Message 26");
    await run.shot(page, "new-message-after-loading-more");
    run.facts.counts = [first.length, 25, 26];
  },

  /** Search as you type, case-insensitively, within the channel (signed out: reading is open). */
  async search(run) {
    const poster = await run.apiUser("Searcher");
    const name = `search-${unique()}`;
    const channelId = await run.mutate(poster, "channels:create", { name });
    for (const text of ["apple pie", "banana bread", "Apple juice"]) {
      await run.mutate(poster, "messages:create", { channelId, text });
    }
    const page = await run.open("reader", "chat");
    await openChannel(page, name);
    await waitForMessageCount(page, 3);
    await page.getByTestId("search").fill("apple");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="search-result"]').length === 2);
    const found = await page.getByTestId("search-result").allTextContents();
    assert.deepEqual([...found].sort(), ["Apple juice", "apple pie"]);
    await run.shot(page, "results");
    run.facts.found = found;
  },

  /** An uploaded image is stored, listed, and shown from its serving URL in both windows. */
  async upload(run) {
    const uploader = await run.open("uploader", "files");
    const watcher = await run.open("watcher", "files");
    await run.signUp(uploader, "Uma");
    await run.signUp(watcher, "Walt");
    await uploader.getByTestId("files").waitFor();
    await run.shot(uploader, "before");
    const name = `photo-${unique()}.png`;
    await uploader.getByTestId("file-input").setInputFiles({
      name,
      mimeType: "image/png",
      buffer: readFileSync(run.config.image),
    });
    for (const page of [uploader, watcher]) {
      const image = page.getByTestId("file").filter({ hasText: name }).getByTestId("file-preview");
      await image.waitFor();
      await until(() => image.evaluate((img) => img.complete && img.naturalWidth > 0), "the image to load");
      run.facts[`${page.label}Size`] = await image.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
      run.facts.src = await image.getAttribute("src");
      await run.shot(page, "image-shown");
    }
  },

  /** A task added and moved in one window moves in the other too. */
  async tasks(run) {
    const left = await run.open("left", "tasks");
    const right = await run.open("right", "tasks");
    await run.signUp(left, "Lena");
    await run.signUp(right, "Rick");
    const title = `Ship the frontend ${unique()}`;
    await left.getByTestId("new-task").fill(title);
    await left.getByTestId("add-task").click();
    const card = (page, status) => page.getByTestId(`column-${status}`).getByTestId("task").filter({ hasText: title });
    for (const page of [left, right]) {
      await card(page, "todo").waitFor();
      await run.shot(page, "added");
    }
    await card(left, "todo").getByTestId("move-right").click();
    for (const page of [left, right]) {
      await card(page, "in_progress").waitFor();
      assert.equal(await card(page, "todo").count(), 0);
      await run.shot(page, "in-progress");
    }
    await card(right, "in_progress").getByTestId("move-right").click();
    for (const page of [left, right]) {
      await card(page, "done").waitFor();
      assert.equal(await card(page, "in_progress").count(), 0);
      await run.shot(page, "done");
    }
    await card(left, "done").getByTestId("move-left").click();
    for (const page of [left, right]) {
      await card(page, "in_progress").waitFor();
      await run.shot(page, "moved-back");
    }
  },

  /** The guide's snippets, as written, run against the example, signed in. */
  async guide(run) {
    const bob = await run.apiUser("Bob");
    const name = `guide-${unique()}`;
    const channelId = await run.mutate(bob, "channels:create", { name });
    await run.mutate(bob, "messages:create", { channelId, text: "first, from Bob" });
    const page = await run.open("guide", "guide");
    await run.signUp(page, "Ada");
    await openChannel(page, name);
    const guide = page.getByTestId("guide");
    await guide.getByText("Bob:").waitFor();
    // MessageForm: posts as the signed-in user; MessageList and PaginatedMessages show it.
    const form = guide.locator("form").filter({ has: page.getByPlaceholder("Type a message...") });
    await form.getByPlaceholder("Type a message...").fill("second, from the guide's MessageForm");
    await form.getByRole("button", { name: "Send" }).click();
    const posted = guide.locator("div", { hasText: /^Ada: second, from the guide's MessageForm$/ });
    await posted.waitFor();
    await guide.locator("div", { hasText: /^second, from the guide's MessageForm$/ }).first().waitFor();
    assert.equal(await form.getByPlaceholder("Type a message...").inputValue(), ""); // setText("")
    run.facts.posted = await posted.textContent();
    await run.shot(page, "message-form-posted");
    // EmailButton: the action posts to the email service (this test server) and alerts.
    await guide.getByRole("button", { name: "Send Email" }).click();
    await until(() => page.dialogs.length > 0, "the alert");
    assert.deepEqual(page.dialogs, ["Email sent!"]);
    const emails = await (await fetch(`${run.config.backend}/_test/email`)).json();
    assert.equal(emails.at(-1).subject, "Hello");
    await run.shot(page, "email-sent");
    run.facts.email = emails.at(-1);
    // FileUpload: the three steps; the file shows up on the Files tab of another window.
    await guide.locator('input[type="file"]').setInputFiles({
      name: "from-the-guide.png",
      mimeType: "image/png",
      buffer: readFileSync(run.config.image),
    });
    const files = await run.open("files", "files");
    await files.getByTestId("file").filter({ hasText: "from-the-guide.png" }).getByTestId("file-preview").waitFor();
    await run.shot(files, "guide-upload-listed");
  },

  /** Third-party sign-in wired as the guide wires Clerk (ConvexProviderWithClerk and a
   * Clerk-shaped useAuth) against a real OpenID provider whose ID tokens live seconds:
   * the client keeps fetching fresh ones and the user stays signed in. */
  async clerkLike(run) {
    const page = await run.open("grace", "clerk-like.html#chat");
    const tokens = [];
    page.on("response", async (response) => {
      const request = response.request();
      if (request.method() !== "POST" || !new URL(response.url()).pathname.endsWith("/token")) return;
      const grant = new URLSearchParams(request.postData() ?? "").get("grant_type");
      const body = await response.json().catch(() => ({}));
      const claims = body.id_token ? JSON.parse(Buffer.from(body.id_token.split(".")[1], "base64url")) : {};
      tokens.push({ grant, status: response.status(), aud: claims.aud, iat: claims.iat, exp: claims.exp });
    });
    await page.getByTestId("oidc-sign-in").click();
    // The provider's own pages: log in, then consent (offline_access gives a refresh token).
    await page.locator('input[name="login"]').fill("grace");
    await page.locator('input[name="password"]').fill("anything");
    await run.shot(page, "provider-login");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.getByRole("button", { name: "Continue" }).click();
    // Back in the app, signed in; the guide's pattern makes the users row (users:create).
    await page.getByTestId("profile-name").fill("Grace");
    await page.getByTestId("profile-email").fill("grace@example.com");
    await run.shot(page, "signed-in-new-profile");
    await page.getByTestId("profile-join").click();
    await page.getByTestId("signed-in").filter({ hasText: "Grace" }).waitFor();
    const name = await createChannel(page, "oidc");
    await send(page, "Hello from an OpenID sign-in");
    await message(page, "Hello from an OpenID sign-in").locator(".author", { hasText: "Grace" }).waitFor();
    await run.shot(page, "posted");

    // Wait past the first token's expiry (the server allows no clock skew here): by then
    // the client has fetched fresh tokens (refresh_token grants) and stays signed in.
    const first = tokens[0];
    await until(
      () => tokens.filter((t) => t.grant === "refresh_token").length >= 2 && Date.now() / 1000 > first.exp + 1,
      "two refreshes, after the first token expired"
    );
    await send(page, "Still here after the first token expired");
    await message(page, "Still here after the first token expired").locator(".author", { hasText: "Grace" }).waitFor();
    assert.equal(await page.getByTestId("signed-in").textContent(), "Grace");
    await run.shot(page, "refreshed-still-signed-in");

    // A reload keeps the session: the stored (expired) token is refreshed, not re-signed-in.
    await page.reload();
    await page.getByTestId("signed-in").filter({ hasText: "Grace" }).waitFor();
    await openChannel(page, name);
    await message(page, "Still here after the first token expired").waitFor();
    await run.shot(page, "reloaded-still-signed-in");

    await page.getByTestId("sign-out").click();
    await page.getByTestId("oidc-sign-in").waitFor();
    await run.shot(page, "signed-out");
    assert.deepEqual(page.consoleErrors, [], "the client reported no auth failures");
    run.facts.tokens = tokens;
  },
};

async function main() {
  const [name, configText] = process.argv.slice(2);
  const config = JSON.parse(configText);
  const scenario = scenarios[name];
  if (!scenario) {
    throw new Error(`Unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
  }
  const browser = await chromium.launch({
    executablePath: config.chromium ?? "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
  });
  const run = new Run(browser, config, name);
  try {
    await scenario(run);
    assert.deepEqual(run.pageErrors, [], "uncaught errors in the page");
    console.log(JSON.stringify({ ok: true, screenshots: run.screenshots, facts: run.facts }));
  } catch (error) {
    for (const page of run.pages) {
      await run.shot(page, "failure").catch(() => {});
    }
    console.log(
      JSON.stringify({
        ok: false,
        error: String(error?.stack ?? error),
        pageErrors: run.pageErrors,
        consoleErrors: run.pages.map((page) => [page.label, page.consoleErrors]),
        screenshots: run.screenshots,
      })
    );
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
