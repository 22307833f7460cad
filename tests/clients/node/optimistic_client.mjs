// The official BaseConvexClient's optimistic-update path against a real pyconvex server.
//   node optimistic_client.mjs URL [WRITER_URL]  -> prints one JSON line
//
// An optimistic update shows at once; when the server's Transition with the mutation's
// commit arrives it is replaced by the real result; a failed mutation rolls it back.
// With WRITER_URL (another node of the same deployment), a write through that node
// then reaches the client, and one more optimistic update is confirmed on top of it.
import WebSocket from "ws";
import { BaseConvexClient, ConvexHttpClient } from "convex/browser";

const url = process.argv[2];
const seen = [];
let client;
const count = () => client.localQueryResult("api:count", {});
client = new BaseConvexClient(
  url,
  () => seen.push(count()), // every change of the local query results
  { webSocketConstructor: WebSocket, unsavedChangesWarning: false },
);
const { unsubscribe } = client.subscribe("api:count", {});
const waitFor = async (what, predicate) => {
  const deadline = Date.now() + 10000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen ${seen}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
await waitFor("the first result", () => count() !== undefined);
const plusOne = (store) => store.setQuery("api:count", {}, store.getQuery("api:count", {}) + 1);

const out = { initial: count() };
const pending = client.mutation("api:add", { text: "x" }, { optimisticUpdate: plusOne });
out.whilePending = count(); // synchronously after the call: before any server reply
await pending;
out.afterCommit = count();

const failing = client.mutation("api:chatty", { text: "fail" }, { optimisticUpdate: plusOne });
out.whileFailing = count();
try {
  await failing;
  out.failed = false;
} catch (error) {
  out.failed = true;
}
await waitFor("the rollback", () => count() === out.afterCommit);
out.afterFailure = count();
if (process.argv[3]) {
  await new ConvexHttpClient(process.argv[3]).mutation("api:add", { text: "other node" });
  await waitFor("the other node's write", () => count() === out.afterFailure + 1);
  out.afterOtherNode = count();
  const again = client.mutation("api:add", { text: "y" }, { optimisticUpdate: plusOne });
  out.whilePendingAgain = count();
  await again;
  out.afterCommitAgain = count();
}
out.seen = seen;
unsubscribe();
await client.close();
console.log(JSON.stringify(out));
process.exit(0);
