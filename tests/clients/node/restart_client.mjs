// Sends one slow mutation, prints "sent", and waits: the test kills and restarts the
// server meanwhile; the client must reconnect and replay it. Prints the final result.
import { ConvexClient } from "convex/browser";

const client = new ConvexClient(process.argv[2]);
let count;
client.onUpdate("api:count", {}, (value) => { count = value; });
while (count === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
const pending = client.mutation("api:slow_add", { text: "once", seconds: 0.9 });
console.log("sent");
const id = await pending;
while (count !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
console.log(JSON.stringify({ id, count }));
await client.close();
