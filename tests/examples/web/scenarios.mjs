// Browser scenarios for the chat example, driven by playwright-core in Debian's chromium.
//
//   node scenarios.mjs <scenario> '<config JSON>'
//
// config: { app: URL of the built frontend, backend: the pyconvex server's URL,
//           artifacts: folder for screenshots, image: a PNG file to upload }
//
// Each scenario opens fresh browser contexts (separate storage, like two people),
// saves a screenshot after every step under <artifacts>/<scenario>/, and prints one
// JSON line: {"ok": true, "screenshots": [...], "facts": {...}} or {"ok": false, "error"}.
// The backend's /_test/run route (tests/examples/chat_web_server.py) sets data up and
// acts as users other than the browser's: pyconvex has no sign-in yet.
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

const ADA = { issuer: "https://test.local", subject: "ada", name: "Ada", email: "ada@example.com" };
const BOB = { issuer: "https://test.local", subject: "bob", name: "Bob", email: "bob@example.com" };

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

  /** A page in a fresh context (its own storage), opened at the app's `hash` view. */
  async open(label, hash) {
    const context = await this.browser.newContext({ viewport: { width: 1200, height: 760 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.label = label;
    page.dialogs = [];
    page.on("pageerror", (error) => this.pageErrors.push(`${label}: ${error.message}`));
    page.on("dialog", async (dialog) => {
      page.dialogs.push(dialog.message());
      await dialog.dismiss();
    });
    await page.goto(`${this.config.app}#${hash}`);
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

  /** Run mutations on the backend as the given users (see chat_web_server.py). */
  async backend(...calls) {
    const response = await fetch(`${this.config.backend}/_test/run`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ calls }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()).values;
  }

  /** Ada and Bob, and a channel of Ada's with a unique name; its id. */
  async channel(prefix) {
    const name = `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
    const [, , channelId] = await this.backend(
      { path: "users:create", args: { name: ADA.name, email: ADA.email }, as: ADA },
      { path: "users:create", args: { name: BOB.name, email: BOB.email }, as: BOB },
      { path: "channels:create", args: { name }, as: ADA }
    );
    return { name, channelId };
  }
}

const say = (channelId, text, as = ADA) => ({ path: "messages:create", args: { channelId, text }, as });

async function openChannel(page, name) {
  await page.getByRole("button", { name: `# ${name}` }).click();
  await page.locator(".channels button.active", { hasText: name }).waitFor();
}

const messageTexts = (page) => page.locator('[data-testid="message-text"]').allTextContents();

async function waitForMessageCount(page, count) {
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="message"]').length === n,
    count
  );
}

async function until(condition) {
  const deadline = Date.now() + TIMEOUT;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function message(page, text) {
  return page.locator('[data-testid="message"]', { hasText: text });
}

const scenarios = {
  /** Two people watch a channel; what others post, react, edit and delete shows up live. */
  async liveMessages(run) {
    const { name, channelId } = await run.channel("live");
    const ada = await run.open("ada", "chat");
    const bob = await run.open("bob", "chat");
    for (const page of [ada, bob]) {
      await openChannel(page, name);
      await run.shot(page, "channel-open");
    }
    // Signed out, the message box says so (sign-in comes with the auth issue).
    assert.equal(await bob.getByTestId("message-input").getAttribute("placeholder"), "Sign in to post messages");
    assert.ok(await bob.getByTestId("message-input").isDisabled());

    const [messageId] = await run.backend(say(channelId, "Hello from Ada"));
    for (const page of [ada, bob]) {
      await message(page, "Hello from Ada").waitFor();
      assert.equal(await message(page, "Hello from Ada").locator(".author").textContent(), "Ada");
      await run.shot(page, "message-arrived");
    }
    await run.backend(
      { path: "messages:addReaction", args: { messageId, emoji: "👍" }, as: BOB },
      { path: "messages:addReaction", args: { messageId, emoji: "👍" }, as: ADA }
    );
    for (const page of [ada, bob]) {
      await message(page, "Hello from Ada").getByTestId("reaction").filter({ hasText: "👍 2" }).waitFor();
      await run.shot(page, "reactions");
    }
    await run.backend({ path: "messages:update", args: { id: messageId, text: "Hello, edited" }, as: ADA });
    for (const page of [ada, bob]) {
      await message(page, "Hello, edited").waitFor();
      await run.shot(page, "edited");
    }
    await run.backend({ path: "messages:remove", args: { id: messageId }, as: ADA });
    for (const page of [ada, bob]) {
      await waitForMessageCount(page, 0);
      await run.shot(page, "deleted");
    }
    run.facts.reloads = 0; // every change above arrived over the open WebSocket
  },

  /** The newest page first; "Load more" brings older messages; new ones still arrive. */
  async pagination(run) {
    const { name, channelId } = await run.channel("history");
    const texts = Array.from({ length: 25 }, (_, i) => `Message ${String(i + 1).padStart(2, "0")}`);
    await run.backend(...texts.map((text) => say(channelId, text)));
    const page = await run.open("reader", "chat");
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

    await run.backend(say(channelId, "Message 26"));
    await waitForMessageCount(page, 26);
    assert.equal((await messageTexts(page)).at(-1), "Message 26");
    await run.shot(page, "new-message-after-loading-more");
    run.facts.counts = [first.length, 25, 26];
  },

  /** Search as you type, case-insensitively, within the channel. */
  async search(run) {
    const { name, channelId } = await run.channel("search");
    await run.backend(say(channelId, "apple pie"), say(channelId, "banana bread"), say(channelId, "Apple juice"));
    const page = await run.open("searcher", "chat");
    await openChannel(page, name);
    await waitForMessageCount(page, 3);
    await page.getByTestId("search").fill("apple");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="search-result"]').length === 2);
    const found = await page.getByTestId("search-result").allTextContents();
    assert.deepEqual([...found].sort(), ["Apple juice", "apple pie"]);
    await run.shot(page, "results");
    run.facts.found = found;
  },

  /** An uploaded image is stored, listed, and shown from its serving URL. */
  async upload(run) {
    const uploader = await run.open("uploader", "files");
    const watcher = await run.open("watcher", "files");
    await uploader.getByText("No files yet.").waitFor();
    await run.shot(uploader, "empty");
    await uploader.getByTestId("file-input").setInputFiles(run.config.image);
    for (const page of [uploader, watcher]) {
      const image = page.getByTestId("file-preview");
      await image.waitFor();
      await page.waitForFunction(() => {
        const img = document.querySelector('[data-testid="file-preview"]');
        return img && img.complete && img.naturalWidth > 0;
      });
      run.facts[`${page.label}Size`] = await image.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
      run.facts.src = await image.getAttribute("src");
      await run.shot(page, "image-shown");
    }
  },

  /** A task added and moved in one window moves in the other too. */
  async tasks(run) {
    const left = await run.open("left", "tasks");
    const right = await run.open("right", "tasks");
    const title = `Ship the frontend ${Math.random().toString(36).slice(2, 7)}`;
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

  /** The guide's snippets, as written, run against the example. */
  async guide(run) {
    const { name, channelId } = await run.channel("guide");
    await run.backend(say(channelId, "first"), say(channelId, "second", BOB));
    const page = await run.open("guide", "guide");
    await openChannel(page, name);
    const guide = page.getByTestId("guide");
    // MessageList: "<strong>Bob:</strong> second", newest first.
    await guide.getByText("Bob:").waitFor();
    await guide.getByText("Ada:").waitFor();
    // PaginatedMessages: the texts.
    await guide.locator("div", { hasText: /^second$/ }).first().waitFor();
    await run.shot(page, "snippets");
    // EmailButton: the action posts to the email service (this test server) and alerts.
    await guide.getByRole("button", { name: "Send Email" }).click();
    await until(() => page.dialogs.length > 0);
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
    // MessageForm posts as the signed-in user: it is tested once sign-in exists.
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
        screenshots: run.screenshots,
      })
    );
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
