// Drives the official npm clients' auth (convex@1.48.0) against pyconvex.
// Usage: node auth_client.mjs <deployment url> <tokens JSON file>
// The file holds {"good": jwt, "other": jwt, "bad": {case: jwt}}; prints one JSON object.
import { readFileSync } from "node:fs";
import { ConvexClient, ConvexHttpClient } from "convex/browser";

const url = process.argv[2];
const tokens = JSON.parse(readFileSync(process.argv[3], "utf8"));
const out = { bad: {}, badHttp: {} };
const waitFor = async (predicate, what, ms = 15000) => {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const subject = (identity) => (identity === null ? null : identity.subject);

// Signed in: setAuth confirms, queries see the user, a refresh to another user reruns them.
const client = new ConvexClient(url);
let seen = [];
client.onUpdate("auth:whoami", {}, (identity) => seen.push(subject(identity)));
await waitFor(() => seen.length > 0, "the signed-out result");
let current = tokens.good;
const changes = [];
client.setAuth(async () => current, (isAuthenticated) => changes.push(isAuthenticated));
await waitFor(() => changes.includes(true) && seen.at(-1) === "ada", "sign-in");
out.signedIn = { changes: [...changes], seen: [...seen] };
out.post = await client.mutation("auth:post", { text: "from js" });
current = tokens.other;
client.setAuth(async () => current, (isAuthenticated) => changes.push(isAuthenticated));
await waitFor(() => seen.at(-1) === "bob", "the other user");
client.client.clearAuth();
await waitFor(() => seen.at(-1) === null, "sign-out");
out.afterSignOut = seen.at(-1);
await client.close();

// Each bad token: AuthError, the client gives up on it and goes on signed out.
for (const [name, token] of Object.entries(tokens.bad)) {
  const victim = new ConvexClient(url);
  const events = [];
  victim.setAuth(async () => token, (isAuthenticated) => events.push(isAuthenticated));
  await waitFor(() => events.includes(false), `the refusal of ${name}`);
  let result;
  try {
    await victim.mutation("auth:post", { text: name });
    result = "written";
  } catch (error) {
    result = error.message.includes("Not authenticated") ? "refused" : error.message;
  }
  out.bad[name] = { events, mutation: result, whoami: await victim.query("auth:whoami", {}) };
  await victim.close();
}

// The HTTP client: a bad token is a request error.
for (const [name, token] of Object.entries(tokens.bad)) {
  const http = new ConvexHttpClient(url);
  http.setAuth(token);
  try {
    await http.query("auth:whoami", {});
    out.badHttp[name] = "served";
  } catch (error) {
    out.badHttp[name] = error.message;
  }
}
const http = new ConvexHttpClient(url);
http.setAuth(tokens.good);
out.httpIdentity = subject(await http.query("auth:whoami", {}));
out.notes = await new ConvexHttpClient(url).query("auth:notes", {});
console.log(JSON.stringify(out));
process.exit(0);
