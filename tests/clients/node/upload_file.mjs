// The guide's upload flow, as its browser code does it, against a pyconvex deployment:
// the official ConvexClient (what useMutation uses) for the functions, and fetch()
// POSTing the File itself with its Content-Type. Prints one JSON object.
// Usage: node upload_file.mjs <deployment url>
import { ConvexClient } from "convex/browser";

const client = new ConvexClient(process.argv[2]);
const bytes = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) % 251);
const file = new File([bytes], "photo.png", { type: "image/png" });
const listed = [];
const unsubscribe = client.onUpdate("files:list", {}, (files) => listed.push(files));

// Step 1: get an upload URL.
const uploadUrl = await client.mutation("files:generateUploadUrl", {});
// Step 2: upload the file.
const result = await fetch(uploadUrl, {
  method: "POST",
  headers: { "Content-Type": file.type },
  body: file,
});
const { storageId } = await result.json();
// Step 3: save a reference in the database.
await client.mutation("files:save", { storageId, name: file.name, type: file.type });
const url = await client.mutation("files:getUrl", { storageId });

const served = await fetch(url);
const back = new Uint8Array(await served.arrayBuffer());
const partial = await fetch(url, { headers: { Range: "bytes=10-19" } });
const reused = await fetch(uploadUrl, { method: "POST", body: file });
const deadline = Date.now() + 10000;
while (!(listed.at(-1) ?? []).length && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 5));
}
unsubscribe();
await client.close();
console.log(JSON.stringify({
  uploadStatus: result.status,
  storageId,
  url,
  servedStatus: served.status,
  contentType: served.headers.get("content-type"),
  contentLength: served.headers.get("content-length"),
  same: back.length === bytes.length && back.every((b, i) => b === bytes[i]),
  partialStatus: partial.status,
  partial: [...new Uint8Array(await partial.arrayBuffer())],
  expectedPartial: [...bytes.slice(10, 20)],
  reused: { status: reused.status, body: await reused.json() },
  listed: listed.at(-1),
}));
