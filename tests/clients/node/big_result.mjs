// The npm ConvexClient reassembles TransitionChunk messages: a big query result arrives whole.
//   node big_result.mjs URL LENGTH -> prints one JSON line
import { ConvexClient } from "convex/browser";

const [url, length] = process.argv.slice(2);
const client = new ConvexClient(url);
const big = "é".repeat(Number(length));
const value = await new Promise((resolve, reject) => {
  client.onUpdate("api:echo", { x: big }, resolve, reject);
});
await client.close();
console.log(JSON.stringify({ intact: value.x === big, length: value.x.length }));
process.exit(0);
