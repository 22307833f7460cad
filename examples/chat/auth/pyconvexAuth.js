// pyconvex built-in sign-in for the browser (or Node): token storage and the
// `fetchAccessToken` callback the official clients' setAuth wants.
//
//   import { ConvexReactClient } from "convex/react";
//   import { createAuth } from "./pyconvexAuth.js";
//
//   const url = import.meta.env.VITE_CONVEX_URL;
//   const convex = new ConvexReactClient(url);
//   const auth = createAuth({ url });
//   await auth.handleRedirect();               // finishes an OAuth sign-in, if one came back
//   convex.setAuth(auth.fetchAccessToken);     // signed in whenever a session is stored
//   await auth.signIn({ email, password });    // then convex.setAuth(...) again to switch
//
// Tokens live in `storage` (localStorage by default): the access token (a JWT,
// one hour) and the single-use refresh token. Refreshes are serialized (in this
// tab, and across tabs where the Web Locks API exists), because a refresh token
// that is used twice ends the session on the server.
// No dependencies; ES2020.

const TOKEN = "pyconvex:token";
const REFRESH = "pyconvex:refreshToken";
const EXPIRES = "pyconvex:expiresAt";
const EARLY_SECONDS = 60;

export class AuthError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function createAuth({
  url,
  storage = globalThis.localStorage,
  fetch = globalThis.fetch.bind(globalThis),
  onChange = () => {},
} = {}) {
  if (!url) throw new Error("createAuth needs the deployment url");
  if (!storage) throw new Error("createAuth needs a storage (localStorage or an equivalent)");
  const base = url.replace(/\/+$/, "");
  let refreshing = null;

  async function call(route, body) {
    const response = await fetch(`${base}/api/auth/${route}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new AuthError(data.code ?? "AuthFailed", data.message ?? response.statusText,
        response.status);
    }
    return data;
  }

  function store(tokens) {
    storage.setItem(TOKEN, tokens.token);
    storage.setItem(REFRESH, tokens.refreshToken);
    storage.setItem(EXPIRES, String(tokens.expiresAt));
    onChange(true);
    return tokens;
  }

  function clear() {
    const had = storage.getItem(REFRESH) !== null;
    for (const key of [TOKEN, REFRESH, EXPIRES]) storage.removeItem(key);
    if (had) onChange(false);
  }

  async function refreshNow() {
    const refreshToken = storage.getItem(REFRESH);
    if (!refreshToken) return null;
    try {
      return store(await call("refresh", { refreshToken })).token;
    } catch (error) {
      if (error instanceof AuthError && error.status === 401) {
        clear(); // the session is over
        return null;
      }
      throw error;
    }
  }

  function refresh() {
    // One refresh at a time: a refresh token works once.
    if (refreshing === null) {
      const locks = globalThis.navigator?.locks;
      const run = locks
        ? () => locks.request("pyconvex-auth-refresh", () => {
            // Another tab may have refreshed meanwhile: use its tokens if still fresh.
            const token = fresh();
            return token ?? refreshNow();
          })
        : refreshNow;
      refreshing = run().finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  function fresh() {
    const token = storage.getItem(TOKEN);
    const expiresAt = Number(storage.getItem(EXPIRES) ?? 0);
    return token && expiresAt - EARLY_SECONDS > Date.now() / 1000 ? token : null;
  }

  return {
    /** For `client.setAuth(auth.fetchAccessToken)`: a valid token, or null when signed out. */
    fetchAccessToken: async ({ forceRefreshToken = false } = {}) => {
      if (!forceRefreshToken) {
        const token = fresh();
        if (token) return token;
      }
      return refresh();
    },
    isSignedIn: () => storage.getItem(REFRESH) !== null,
    signUp: async ({ email, password, name }) => store(await call("signup", { email, password, name })),
    signIn: async ({ email, password }) => store(await call("signin", { email, password })),
    signOut: async () => {
      const refreshToken = storage.getItem(REFRESH);
      clear();
      if (refreshToken) await call("signout", { refreshToken });
    },
    requestCode: (email, kind) => call("code", { email, kind }),
    verifyEmail: (email, code) => call("verify-email", { email, code }),
    resetPassword: async ({ email, code, password }) =>
      store(await call("reset-password", { email, code, password })),
    /** The URL that starts an OAuth sign-in with `provider`, coming back to `redirectTo`. */
    oauthUrl: (provider, redirectTo = globalThis.location?.href) =>
      `${base}/api/auth/oauth/${encodeURIComponent(provider)}/start?` +
      new URLSearchParams({ redirectTo }),
    /** Finish an OAuth sign-in: trade the `?code=` the deployment sent back for tokens. */
    handleRedirect: async (location = globalThis.location) => {
      if (!location) return false;
      const current = new URL(location.href);
      const code = current.searchParams.get("code");
      if (!code) return false;
      store(await call("exchange", { code }));
      current.searchParams.delete("code");
      globalThis.history?.replaceState?.(null, "", current.toString());
      return true;
    },
  };
}
