// pyconvex built-in sign-in for the browser (or Node): token storage and the
// `fetchAccessToken` callback the official clients' setAuth wants. No React and no
// dependencies; `auth.tsx` wires it into `ConvexProviderWithAuth`. See pyconvexAuth.md.
//
// Tokens live in `storage` (localStorage by default): the access token (a JWT,
// one hour) and the single-use refresh token. Refreshes are serialized (in this
// tab, and across tabs where the Web Locks API exists), because a refresh token
// that is used twice ends the session on the server.

const TOKEN = "pyconvex:token";
const REFRESH = "pyconvex:refreshToken";
const EXPIRES = "pyconvex:expiresAt";
const KEYS = [TOKEN, REFRESH, EXPIRES];
/** Refresh this long before the access token expires rather than send a stale one. */
const EARLY_SECONDS = 60;

/** What `/api/auth/signin`, `signup`, `refresh`, `exchange` and `reset-password` answer. */
export type Tokens = { token: string; refreshToken: string; expiresAt: number };

/** Where tokens are kept: `localStorage`, or anything with the same three methods. */
export type TokenStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export type AuthOptions = {
  /** The deployment's URL (`VITE_CONVEX_URL`). */
  url: string;
  storage?: TokenStorage;
  fetch?: typeof globalThis.fetch;
  /** Called with `isSignedIn` whenever this tab signs in or out. */
  onChange?: (isSignedIn: boolean) => void;
};

/** A failed sign-in call: the server's `code` (`InvalidCredentials`, `AccountExists`, ...). */
export class AuthError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

export type PyconvexAuth = ReturnType<typeof createAuth>;

export function createAuth({
  url,
  storage = globalThis.localStorage,
  fetch = globalThis.fetch.bind(globalThis),
  onChange = () => {},
}: AuthOptions) {
  if (!url) throw new Error("createAuth needs the deployment url");
  if (!storage) throw new Error("createAuth needs a storage (localStorage or an equivalent)");
  const base = url.replace(/\/+$/, "");
  const listeners = new Set<() => void>();
  let refreshing: Promise<string | null> | null = null;

  async function call<T>(route: string, body: unknown): Promise<T> {
    const response = await fetch(`${base}/api/auth/${route}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new AuthError(data.code ?? "AuthFailed", data.message ?? response.statusText, response.status);
    }
    return data as T;
  }

  function notify(isSignedIn: boolean) {
    onChange(isSignedIn);
    for (const listener of listeners) listener();
  }

  function store(tokens: Tokens): Tokens {
    storage.setItem(TOKEN, tokens.token);
    storage.setItem(REFRESH, tokens.refreshToken);
    storage.setItem(EXPIRES, String(tokens.expiresAt));
    notify(true);
    return tokens;
  }

  function clear() {
    const had = storage.getItem(REFRESH) !== null;
    for (const key of KEYS) storage.removeItem(key);
    if (had) notify(false);
  }

  async function refreshNow(): Promise<string | null> {
    const refreshToken = storage.getItem(REFRESH);
    if (!refreshToken) return null;
    try {
      return store(await call<Tokens>("refresh", { refreshToken })).token;
    } catch (error) {
      if (error instanceof AuthError && error.status === 401) {
        clear(); // the session is over
        return null;
      }
      throw error;
    }
  }

  function refresh(): Promise<string | null> {
    // One refresh at a time: a refresh token works once.
    if (refreshing === null) {
      const locks = globalThis.navigator?.locks;
      const run: () => Promise<string | null> = locks
        ? async () =>
            // Another tab may have refreshed meanwhile: use its tokens if still fresh.
            (await locks.request("pyconvex-auth-refresh", () => fresh() ?? refreshNow())) as string | null
        : refreshNow;
      const running = run().finally(() => {
        refreshing = null;
      });
      refreshing = running;
      return running;
    }
    return refreshing;
  }

  function fresh(): string | null {
    const token = storage.getItem(TOKEN);
    const expiresAt = Number(storage.getItem(EXPIRES) ?? 0);
    return token && expiresAt - EARLY_SECONDS > Date.now() / 1000 ? token : null;
  }

  // Another tab signing in or out changes the shared storage: tell this tab's listeners.
  function onStorage(event: StorageEvent) {
    if (event.key === null || KEYS.includes(event.key)) {
      for (const listener of listeners) listener();
    }
  }

  return {
    /** For `client.setAuth(auth.fetchAccessToken)`: a valid token, or null when signed out. */
    fetchAccessToken: async ({ forceRefreshToken = false }: { forceRefreshToken?: boolean } = {}) => {
      if (!forceRefreshToken) {
        const token = fresh();
        if (token) return token;
      }
      return refresh();
    },
    isSignedIn: (): boolean => storage.getItem(REFRESH) !== null,
    /** Who is signed in: the `sub` of the stored access token (stable across refreshes), or null. */
    subject: (): string | null => {
      const token = storage.getItem(TOKEN);
      if (!token || storage.getItem(REFRESH) === null) return null;
      const payload = token.split(".")[1] ?? "";
      try {
        const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
        return typeof claims.sub === "string" ? claims.sub : null;
      } catch {
        return null;
      }
    },
    /** Call `listener` whenever the signed-in session may have changed (here or in another tab). */
    subscribe: (listener: () => void): (() => void) => {
      if (listeners.size === 0) globalThis.addEventListener?.("storage", onStorage);
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) globalThis.removeEventListener?.("storage", onStorage);
      };
    },
    signUp: async ({ email, password, name }: { email: string; password: string; name?: string }) =>
      store(await call<Tokens>("signup", { email, password, name })),
    signIn: async ({ email, password }: { email: string; password: string }) =>
      store(await call<Tokens>("signin", { email, password })),
    /** Sign out here and end the session on the server. */
    signOut: async () => {
      const refreshToken = storage.getItem(REFRESH);
      clear();
      if (refreshToken) await call("signout", { refreshToken });
    },
    requestCode: (email: string, kind: "verify" | "reset") => call("code", { email, kind }),
    verifyEmail: (email: string, code: string) => call("verify-email", { email, code }),
    resetPassword: async ({ email, code, password }: { email: string; code: string; password: string }) =>
      store(await call<Tokens>("reset-password", { email, code, password })),
    /** The URL that starts an OAuth sign-in with `provider`, coming back to `redirectTo`. */
    oauthUrl: (provider: string, redirectTo: string = globalThis.location?.href) =>
      `${base}/api/auth/oauth/${encodeURIComponent(provider)}/start?` + new URLSearchParams({ redirectTo }),
    /** Finish an OAuth sign-in: trade the `?code=` the deployment sent back for tokens. */
    handleRedirect: async (location: { href: string } | undefined = globalThis.location): Promise<boolean> => {
      if (!location) return false;
      const current = new URL(location.href);
      const code = current.searchParams.get("code");
      if (!code) return false;
      store(await call<Tokens>("exchange", { code }));
      current.searchParams.delete("code");
      globalThis.history?.replaceState?.(null, "", current.toString());
      return true;
    },
  };
}
