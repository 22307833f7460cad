// Fan-out load for bench/multinode_bench.py, with the `ws` package the npm client ships.
//   node multinode_load.mjs URLS N WRITES
// URLS is a comma-separated list of nodes: N subscribers of bench:get are spread over
// them round-robin, and one writer sends WRITES sequential bench:set mutations over
// HTTP to the first. A subscriber may skip intermediate values (its node moves its
// results to the newest snapshot), so the run ends when every subscriber has seen the
// last value. Prints {"deliveries", "expected", "caughtUp", "seconds"}.
import { createRequire } from "node:module";

const WebSocket = createRequire(`${process.cwd()}/package.json`)("ws");
const [urls, n, count] = process.argv.slice(2);
const nodes = urls.split(",");
const writes = Number(count);

let initial = 0;
let deliveries = 0;
let caughtUp = 0;
let done;
const finished = new Promise((resolve) => { done = resolve; });
const onMessage = (data) => {
  const message = JSON.parse(data);
  if (message.type !== "Transition") return;
  for (const change of message.modifications) {
    if (change.type !== "QueryUpdated") continue;
    if (change.value === 0) { initial += 1; continue; }
    deliveries += 1;
    if (change.value === writes && (caughtUp += 1) === Number(n)) done();
  }
};
const subscribe = (url) => new Promise((resolve, reject) => {
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/api/1.48.0/sync`,
    { perMessageDeflate: false });
  socket.on("message", onMessage);  // before subscribing: the first result may come at once
  socket.once("open", () => {
    socket.send(JSON.stringify({ type: "Connect", sessionId: "b", connectionCount: 0 }));
    socket.send(JSON.stringify({ type: "ModifyQuerySet", baseVersion: 0, newVersion: 1,
      modifications: [{ type: "Add", queryId: 0, udfPath: "bench:get", args: [{}] }] }));
    resolve(socket);
  });
  socket.once("error", reject);
});

const sockets = [];
for (let i = 0; i < Number(n); i += 100) {
  const batch = Array.from({ length: Math.min(100, Number(n) - i) },
    (_, j) => subscribe(nodes[(i + j) % nodes.length]));
  sockets.push(...await Promise.all(batch));
}
while (initial < sockets.length) await new Promise((r) => setTimeout(r, 10));
const started = performance.now();
for (let value = 1; value <= writes; value += 1) {
  const response = await fetch(`${nodes[0]}/api/mutation`, { method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: "bench:set", args: { value }, format: "json" }) });
  await response.json();
}
await Promise.race([finished, new Promise((r) => setTimeout(r, 60000))]);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ deliveries, expected: writes * sockets.length, caughtUp, seconds }));
sockets.forEach((s) => s.terminate());
