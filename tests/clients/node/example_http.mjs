// The chat example through the official npm ConvexHttpClient. Prints one JSON object.
import { ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";

const client = new ConvexHttpClient(process.argv[2]);
const out = {};
const attempt = async (name, run) => {
  try { out[name] = { ok: await run() }; } catch (error) {
    out[name] = { error: String(error.message), convexError: error instanceof ConvexError,
                  data: error instanceof ConvexError ? error.data : undefined };
  }
};
await attempt("create", () => client.mutation("tasks:create", { title: "ship it", dueDate: NaN }));
await attempt("list", () => client.query("tasks:list", {}));
await attempt("webhook", () => client.action("actions:handleWebhook",
  { event: "user.created", data: { name: "Ada", email: "ada@x.org" } }));
await attempt("signedOut", () => client.mutation("messages:create", { text: "hi", channelId: "x" }));
await attempt("notAuthenticated", () => client.mutation("users:create", { name: "a", email: "b" }));
await attempt("invalid", () => client.query("tasks:get", { id: "not-an-id" }));
await attempt("unknown", () => client.query("tasks:nothing", {}));
await attempt("internal", () => client.query("tasks:uncategorized", {}));
await attempt("consistent", async () => {
  const before = await client.consistentQuery("tasks:list", {});
  await client.mutation("tasks:create", { title: "later" });
  const after = await client.consistentQuery("tasks:list", {});
  return [before.length, after.length, (await client.query("tasks:list", {})).length];
});
console.log(JSON.stringify(out));
