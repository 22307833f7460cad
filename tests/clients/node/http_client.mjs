// Drives the official npm ConvexHttpClient (convex@1.48.0) against a pyconvex server.
// Usage: node http_client.mjs <deployment url>; prints one JSON object with the results.
import { ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";

const client = new ConvexHttpClient(process.argv[2]);
const out = {};
const capture = async (name, run) => {
  try {
    out[name] = { ok: await run() };
  } catch (error) {
    out[name] = {
      error: String(error.message ?? error),
      convexError: error instanceof ConvexError,
      data: error instanceof ConvexError ? plain(error.data) : undefined,
    };
  }
};
const plain = (value) =>
  JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v)));

await capture("echo", async () => {
  const value = await client.query("api:echo", { i: 7n, neg: -0, nan: NaN, inf: -Infinity, b: new Uint8Array([0, 255]).buffer, s: "é" });
  return plain({ ...value, negIsNegZero: Object.is(value.neg, -0), nanIsNaN: Number.isNaN(value.nan) });
});
await capture("double", () => client.query("api:double", { n: 21n }).then(plain));
await capture("add", () => client.mutation("api:add", { text: "from node" }));
await capture("addTwice", () => client.action("api:add_twice", { text: "x" }));
await capture("fail", () => client.query("api:fail", {}));
await capture("crash", () => client.mutation("api:crash", {}));
await capture("invalid", () => client.query("api:double", { n: "nope" }));
await capture("hidden", () => client.query("api:hidden", {}));
await capture("consistent", async () => {
  const before = await client.consistentQuery("api:count", {});
  await client.mutation("api:add", { text: "later" });
  const after = await client.consistentQuery("api:count", {});
  return [before, after];
});
console.log(JSON.stringify(out));
