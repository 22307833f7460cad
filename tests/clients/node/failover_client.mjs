// Usage: node failover_client.mjs <url> <count> <tag>: sends <count> mutations api:add
// ({text: "<tag>-<i>"}) a few at a time, prints "progress" once 30 are acknowledged
// (the test then kills the node it talks to), and at the end one JSON line with the
// texts whose mutation promise resolved. The client reconnects and replays the rest.
import { ConvexClient } from "convex/browser";

const [url, count, tag] = process.argv.slice(2);
const client = new ConvexClient(url);
const acknowledged = [];
const pending = [];
for (let i = 0; i < Number(count); i += 1) {
  const text = `${tag}-${i}`;
  pending.push(client.mutation("api:add", { text }).then(() => {
    acknowledged.push(text);
    if (acknowledged.length === 30) console.log("progress");
  }));
  if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
}
await Promise.all(pending);
console.log(JSON.stringify({ acknowledged }));
await client.close();
