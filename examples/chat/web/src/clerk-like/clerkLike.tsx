/**
 * A stand-in for Clerk's React SDK, backed by any OpenID provider: `ClerkLikeProvider`
 * and a `useAuth()` of Clerk's shape (`isLoaded`, `isSignedIn`, `getToken({ template:
 * "convex", skipCache })`, `sessionId`, ...), which is what `ConvexProviderWithClerk`
 * asks of `@clerk/clerk-react`. It lets the example show the guide's Clerk wiring
 * against a local provider (the browser tests use npm `oidc-provider`), with no
 * account at Clerk and no network.
 *
 * Signing in is the OpenID authorization-code flow with PKCE, for a public client
 * whose id is `convex`: the provider's ID token (audience `convex`) is the token the
 * "convex" JWT template would give, and the refresh token gets fresh ones. Refresh
 * tokens are single use (the provider rotates them), so refreshes are serialized.
 */
import { createContext, useCallback, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";

const SESSION = "clerk-like:session";
const PENDING = "clerk-like:pending";
/** Hand out a cached token only while it has this long left. */
const EARLY_SECONDS = 1;

/** A signed-in session: the provider's tokens and how many ID tokens it has had. */
export type Session = {
  sessionId: string;
  subject: string;
  idToken: string;
  refreshToken: string;
  expiresAt: number;
  tokensIssued: number;
};

type Discovery = { authorization_endpoint: string; token_endpoint: string };
type TokenResponse = { id_token: string; refresh_token?: string };

function claimsOf(jwt: string): { sub: string; exp: number } {
  const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

/** The "Clerk instance": one per page, holding the session in localStorage. */
class ClerkLike {
  private listeners = new Set<() => void>();
  private session: Session | null = JSON.parse(localStorage.getItem(SESSION) ?? "null");
  private discovery: Promise<Discovery> | null = null;
  private loading: Promise<void> | null = null;
  private refreshing: Promise<Session | null> | null = null;

  constructor(
    readonly issuer: string,
    readonly clientId: string
  ) {}

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  getSession = (): Session | null => this.session;

  private setSession(session: Session | null): Session | null {
    this.session = session;
    if (session === null) localStorage.removeItem(SESSION);
    else localStorage.setItem(SESSION, JSON.stringify(session));
    for (const listener of this.listeners) listener();
    return session;
  }

  private endpoints(): Promise<Discovery> {
    this.discovery ??= fetch(`${this.issuer}/.well-known/openid-configuration`).then((r) => r.json());
    return this.discovery;
  }

  private get redirectUri(): string {
    return window.location.origin + window.location.pathname;
  }

  private async tokenRequest(fields: Record<string, string>): Promise<TokenResponse | null> {
    const { token_endpoint } = await this.endpoints();
    const response = await fetch(token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: this.clientId, ...fields }),
    });
    return response.ok ? response.json() : null;
  }

  /** Send the browser to the provider; it comes back here with `?code=`. */
  async signIn(): Promise<void> {
    const verifier = randomString();
    const challenge = base64url(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)))
    );
    const state = randomString();
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
    const { authorization_endpoint } = await this.endpoints();
    const query = new URLSearchParams({
      client_id: this.clientId,
      response_type: "code",
      scope: "openid email profile offline_access",
      prompt: "consent", // offline_access (a refresh token) needs consent
      redirect_uri: this.redirectUri,
      state,
      nonce: randomString(),
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    window.location.assign(`${authorization_endpoint}?${query}`);
  }

  /** Once per page: finish a sign-in the provider sent back (`?code=&state=`). */
  load(): Promise<void> {
    this.loading ??= this.finishSignIn();
    return this.loading;
  }

  private async finishSignIn(): Promise<void> {
    const url = new URL(window.location.href);
    const code = url.searchParams.get("code");
    if (code === null) return;
    const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null");
    sessionStorage.removeItem(PENDING);
    const state = url.searchParams.get("state");
    url.search = "";
    window.history.replaceState(null, "", url);
    if (pending === null || pending.state !== state) throw new Error("Sign-in state mismatch");
    const tokens = await this.tokenRequest({
      grant_type: "authorization_code",
      code,
      redirect_uri: this.redirectUri,
      code_verifier: pending.verifier,
    });
    if (tokens === null || tokens.refresh_token === undefined) throw new Error("Sign-in failed");
    const { sub, exp } = claimsOf(tokens.id_token);
    this.setSession({
      sessionId: crypto.randomUUID(),
      subject: sub,
      idToken: tokens.id_token,
      refreshToken: tokens.refresh_token,
      expiresAt: exp,
      tokensIssued: 1,
    });
  }

  /** Clerk's `getToken`: the "convex" template's token (the ID token), fresh if asked. */
  async getToken({ template, skipCache = false }: { template?: "convex"; skipCache?: boolean } = {}) {
    if (template !== undefined && template !== "convex") throw new Error(`No JWT template "${template}"`);
    const session = this.session;
    if (session === null) return null;
    if (!skipCache && session.expiresAt - EARLY_SECONDS > Date.now() / 1000) return session.idToken;
    return (await this.refresh())?.idToken ?? null;
  }

  private refresh(): Promise<Session | null> {
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshNow(): Promise<Session | null> {
    const session = this.session;
    if (session === null) return null;
    const tokens = await this.tokenRequest({ grant_type: "refresh_token", refresh_token: session.refreshToken });
    if (tokens === null) return this.setSession(null); // the provider ended the session
    return this.setSession({
      ...session,
      idToken: tokens.id_token,
      refreshToken: tokens.refresh_token ?? session.refreshToken,
      expiresAt: claimsOf(tokens.id_token).exp,
      tokensIssued: session.tokensIssued + 1,
    });
  }

  signOut(): void {
    this.setSession(null);
  }
}

const ClerkContext = createContext<{ clerk: ClerkLike; isLoaded: boolean } | null>(null);

function useClerk() {
  const value = useContext(ClerkContext);
  if (value === null) throw new Error("Wrap the app in <ClerkLikeProvider>");
  return value;
}

/** Clerk's `<ClerkProvider>`, configured with the provider's issuer instead of a publishable key. */
export function ClerkLikeProvider({
  issuer,
  clientId = "convex",
  children,
}: {
  issuer: string;
  clientId?: string;
  children: ReactNode;
}) {
  const [clerk] = useState(() => new ClerkLike(issuer.replace(/\/+$/, ""), clientId));
  const [isLoaded, setLoaded] = useState(false);
  useEffect(() => {
    let current = true;
    clerk
      .load()
      .catch((error: unknown) => console.error(error))
      .finally(() => current && setLoaded(true));
    return () => {
      current = false;
    };
  }, [clerk]);
  return <ClerkContext.Provider value={{ clerk, isLoaded }}>{children}</ClerkContext.Provider>;
}

/** Clerk's `useAuth()`, as `ConvexProviderWithClerk` calls it. */
export function useAuth() {
  const { clerk, isLoaded } = useClerk();
  const session = useSyncExternalStore(clerk.subscribe, clerk.getSession);
  const getToken = useCallback(
    (options: { template?: "convex"; skipCache?: boolean }) => clerk.getToken(options),
    [clerk]
  );
  return {
    isLoaded,
    isSignedIn: isLoaded ? session !== null : undefined,
    userId: session?.subject ?? null,
    sessionId: session?.sessionId ?? null,
    // Clerk's session token is not for Convex (its `aud` is not "convex"), so
    // ConvexProviderWithClerk asks for the "convex" template.
    sessionClaims: session === null ? null : { sub: session.subject, sid: session.sessionId },
    orgId: null,
    orgRole: null,
    getToken,
  };
}

/** The session itself (for showing how many tokens it has had), and sign-in/out. */
export function useClerkLike() {
  const { clerk } = useClerk();
  const session = useSyncExternalStore(clerk.subscribe, clerk.getSession);
  return { session, signIn: () => void clerk.signIn(), signOut: () => clerk.signOut() };
}
