// Closed-loop HTTP load: N keep-alive connections, each sending the next request as
// soon as the previous answer arrives. Usage: node http_load.mjs URL BODY CONNECTIONS SECONDS
// Prints {"requests": n, "seconds": s, "errors": e}.
import http from "node:http";

const [url, body, connections, seconds] = process.argv.slice(2);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(connections) });
let requests = 0;
let errors = 0;
const deadline = Date.now() + Number(seconds) * 1000;

function once() {
  return new Promise((resolve) => {
    const request = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode !== 200 || text.includes('"status":"error"')) errors += 1;
          resolve();
        });
      },
    );
    request.on("error", () => { errors += 1; resolve(); });
    request.end(body);
  });
}

async function loop() {
  while (Date.now() < deadline) {
    await once();
    requests += 1;
  }
}

const started = Date.now();
await Promise.all(Array.from({ length: Number(connections) }, loop));
console.log(JSON.stringify({ requests, seconds: (Date.now() - started) / 1000, errors }));
agent.destroy();
