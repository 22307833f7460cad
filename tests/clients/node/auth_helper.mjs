// The chat example's sign-in helper (examples/chat/web/src/pyconvexAuth.ts) with the official
// npm ConvexClient (setAuth(auth.fetchAccessToken)) against pyconvex's built-in sign-in.
// Usage: node auth_helper.mjs <deployment url> <the helper compiled to an ES module>;
// prints one JSON object of observations.
import { pathToFileURL } from "node:url";
import { ConvexClient } from "convex/browser";

const url = process.argv[2];
const { AuthError, createAuth } = await import(pathToFileURL(process.argv[3]).href);
const out = {};
const waitFor = async (predicate, what) => {
  const deadline = Date.now() + 15000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const memory = () => {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
};

const storage = memory();
const sessionEvents = [];
const auth = createAuth({ url, storage, onChange: (signedIn) => sessionEvents.push(signedIn) });
let notified = 0;
const unsubscribe = auth.subscribe(() => notified++);
await auth.signUp({ email: "ada@example.com", password: "correct horse", name: "Ada" });
const subject = auth.subject();
const firstRefresh = storage.getItem("pyconvex:refreshToken");

const client = new ConvexClient(url);
const seen = [];
client.onUpdate("users:me", {}, (user) => seen.push(user === null ? null : user.name));
const changes = [];
client.setAuth(auth.fetchAccessToken, (isAuthenticated) => changes.push(isAuthenticated));
await waitFor(() => seen.at(-1) === "Ada", "the signed-in user");
// Right after confirming, the client asks for a fresh token: the helper refreshed once.
await waitFor(() => storage.getItem("pyconvex:refreshToken") !== firstRefresh, "a refresh");
out.confirmed = changes[0];
const channel = await client.mutation("channels:create", { name: "general" });
await client.mutation("messages:create", { text: "hello", channelId: channel });
out.messages = (await client.query("messages:list", { channelId: channel }))
  .map((m) => [m.text, m.user.name]);

// Concurrent forced refreshes share one request (a refresh token works once).
const [a, b] = await Promise.all([
  auth.fetchAccessToken({ forceRefreshToken: true }),
  auth.fetchAccessToken({ forceRefreshToken: true }),
]);
out.sharedRefresh = a === b && a !== null;

try {
  await auth.signIn({ email: "ada@example.com", password: "wrong password" });
  out.wrongPassword = "signed in";
} catch (error) {
  out.wrongPassword = error instanceof AuthError ? error.code : String(error);
}

const subjectAfterRefreshes = auth.subject();
const refreshToken = storage.getItem("pyconvex:refreshToken");
await auth.signOut();
client.client.clearAuth();
await waitFor(() => seen.at(-1) === null, "signed out");
out.signedOut = { isSignedIn: auth.isSignedIn(), token: await auth.fetchAccessToken({}) };
// The subject names the signed-in user and outlives refreshes; subscribers hear every change.
out.subject = { signedIn: typeof subject, afterRefreshes: subject === subjectAfterRefreshes,
  afterSignOut: auth.subject() };
out.notified = notified > 2;
unsubscribe();
const reused = await fetch(`${url}/api/auth/refresh`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ refreshToken }),
});
out.refreshAfterSignOut = reused.status;
out.sessionEvents = sessionEvents;
await client.close();
console.log(JSON.stringify(out));
process.exit(0);
