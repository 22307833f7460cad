// Load for bench/sync_bench.py, using the `ws` package the npm convex client ships with.
//   node sync_load.mjs fanout    URL N WRITES   -> subscribers, one writer, deliveries and latency
//   node sync_load.mjs broadcast URL N COUNT    -> the raw WebSocket broadcast ceiling
//   node sync_load.mjs idle      URL N          -> N subscriptions held open until stdin closes
import { createRequire } from "node:module";

// Resolved from the working directory (tests/clients/node, where `npm install` put it).
const WebSocket = createRequire(`${process.cwd()}/package.json`)("ws");

const [mode, url, n, count] = process.argv.slice(2);
const wsUrl = url.replace(/^http/, "ws");
const open = (path) => new Promise((resolve, reject) => {
  const socket = new WebSocket(wsUrl + path, { perMessageDeflate: false });
  socket.once("open", () => resolve(socket));
  socket.once("error", reject);
});
const subscribe = async (onMessage = null) => {
  const socket = await open("/api/1.48.0/sync");
  if (onMessage) socket.on("message", (data) => onMessage(socket, data)); // before any reply
  socket.send(JSON.stringify({ type: "Connect", sessionId: "b", connectionCount: 0 }));
  socket.send(JSON.stringify({ type: "ModifyQuerySet", baseVersion: 0, newVersion: 1,
    modifications: [{ type: "Add", queryId: 0, udfPath: "counter:get", args: [{}] }] }));
  return socket;
};
const openMany = async (how, total) => {
  const sockets = [];
  for (let i = 0; i < total; i += 200) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(200, total - i) }, how)));
  }
  return sockets;
};
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

if (mode === "fanout") {
  const writes = Number(count);
  const sent = new Map();
  const latencies = [];
  const commitLatencies = [];
  let deliveries = 0;
  let initial = 0;
  let caughtUp = 0;
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  const total = Number(n);
  const onMessage = (socket, data) => {
    const message = JSON.parse(data);
    if (message.type !== "Transition") return;
    // The commit ts is the wall clock at commit (ns, little-endian u64): same machine,
    // so arrival minus it is the commit-to-subscriber latency.
    const arrived = performance.timeOrigin + performance.now();
    const committed = Number(Buffer.from(message.endVersion.ts, "base64").readBigUInt64LE(0)) / 1e6;
    for (const change of message.modifications) {
      if (change.type !== "QueryUpdated") continue;
      if (!sent.has(change.value)) { initial += 1; continue; }
      deliveries += 1;
      latencies.push(performance.now() - sent.get(change.value));
      commitLatencies.push(arrived - committed);
      // Coalescing may skip an intermediate value (every client still sees
      // each state it is shown whole); done once all have the last value.
      if (change.value === writes) { caughtUp += 1; if (caughtUp === total) done(); }
    }
  };
  const sockets = await openMany(() => subscribe(onMessage), total);
  while (initial < sockets.length) await new Promise((r) => setTimeout(r, 10));
  const executions = async () => (await (await fetch(`${url}/bench/stats`)).json()).executions;
  const executionsBefore = await executions();
  const started = performance.now();
  const writeTimes = [];
  for (let value = 1; value <= writes; value += 1) {
    const t0 = performance.now();
    sent.set(value, t0);
    const response = await fetch(`${url}/api/mutation`, { method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "counter:set", args: { value }, format: "json" }) });
    await response.json();
    writeTimes.push(performance.now() - t0);
  }
  writeTimes.sort((a, b) => a - b);
  await Promise.race([finished, new Promise((r) => setTimeout(r, 60000))]);
  const seconds = (performance.now() - started) / 1000;
  const executed = (await executions()) - executionsBefore;
  latencies.sort((a, b) => a - b);
  commitLatencies.sort((a, b) => a - b);
  console.log(JSON.stringify({ deliveries, seconds, expected: writes * sockets.length, caughtUp, executed,
    p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99),
    commitP50: percentile(commitLatencies, 0.5), commitP99: percentile(commitLatencies, 0.99),
    writeP50: percentile(writeTimes, 0.5), writeMax: writeTimes[writeTimes.length - 1] }));
  sockets.forEach((s) => s.terminate());
  process.exit(0); // nothing else may keep the process alive (the 60 s guard timer)
} else if (mode === "broadcast") {
  const total = Number(count);
  const sockets = await openMany(() => open("/bench/ws"), Number(n));
  let received = 0;
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  for (const socket of sockets) {
    socket.on("message", () => { received += 1; if (received === total * sockets.length) done(); });
  }
  await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  await fetch(`${url}/bench/broadcast?count=${total}`, { method: "POST" });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 60000))]);
  console.log(JSON.stringify({ deliveries: received, seconds: (performance.now() - started) / 1000 }));
  sockets.forEach((s) => s.terminate());
} else if (mode === "idle") {
  const sockets = await openMany(subscribe, Number(n));
  let initial = 0;
  let caughtUp = 0;
  for (const socket of sockets) socket.on("message", () => { initial += 1; });
  while (initial < sockets.length) await new Promise((r) => setTimeout(r, 50));
  console.log(JSON.stringify({ open: sockets.length }));
  process.stdin.resume();
  process.stdin.on("end", () => { sockets.forEach((s) => s.terminate()); process.exit(0); });
}
