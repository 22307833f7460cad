// Drives the official npm ConvexClient (convex@1.48.0, WebSocket sync) against pyconvex.
// Usage: node sync_client.mjs <deployment url> [<writer url>]; prints one JSON object of
// observations. With a writer URL (another node of the same deployment), the writer
// client talks to that node and the reader to the first.
import { ConvexClient } from "convex/browser";
import { ConvexError } from "convex/values";

const url = process.argv[2];
const reader = new ConvexClient(url);
const writer = new ConvexClient(process.argv[3] ?? url);
const out = {};
const plain = (value) =>
  JSON.parse(JSON.stringify(value, (_, v) =>
    typeof v === "bigint" ? `${v}n` : v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v));
const waitFor = async (predicate, what) => {
  const deadline = Date.now() + 10000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

// Live subscriptions on two queries that one mutation changes together.
let count;
let texts;
let inconsistent = 0;
const check = () => {
  const c = reader.client.localQueryResult("api:count", {});
  const t = reader.client.localQueryResult("api:texts", {});
  if (c !== undefined && t !== undefined && c !== t.length) inconsistent += 1;
};
reader.onUpdate("api:count", {}, (value) => { count = value; check(); });
reader.onUpdate("api:texts", {}, (value) => { texts = value; check(); });
await waitFor(() => count !== undefined && texts !== undefined, "first results");
out.initial = { count, texts };

// A write by another client reaches the subscriber.
await writer.mutation("api:add", { text: "from writer" });
await waitFor(() => count === 1, "the writer's note");
out.afterWriter = { count, texts };

// Read-your-writes: when await mutation() returns, the subscription already shows it.
await reader.mutation("api:add", { text: "mine" });
out.readYourWrites = { count, texts };

for (let i = 0; i < 20; i += 1) await writer.mutation("api:add", { text: `n${i}` });
await waitFor(() => count === 22, "twenty more notes");
out.inconsistentTransitions = inconsistent;

// Errors: ConvexError data on a query subscription and on a mutation.
out.queryError = await new Promise((resolve) => {
  reader.onUpdate("api:fail", {}, () => resolve({ unexpected: true }),
    (error) => resolve({ convexError: error instanceof ConvexError, data: plain(error.data) }));
});
try {
  await reader.mutation("api:chatty", { text: "fail" });
  out.mutationError = { unexpected: true };
} catch (error) {
  out.mutationError = { convexError: error instanceof ConvexError, data: plain(error.data) };
}

// Every value type through a one-shot query and an action.
out.echo = plain(await reader.query("api:echo", {
  i: -9007199254740993n, f: -0, nan: NaN, inf: Infinity, b: new Uint8Array([1, 2]).buffer,
  s: "ü", nested: { a: [null, true, 1.5] },
}));
out.echoNegZero = Object.is((await reader.query("api:echo", { f: -0 })).f, -0);
out.action = await reader.action("api:add_twice", { text: "act" });
await reader.close();
await writer.close();
console.log(JSON.stringify(out));
