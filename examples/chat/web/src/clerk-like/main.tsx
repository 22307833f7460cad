/**
 * The chat app signed in by an outside OpenID provider, wired exactly as the guide wires
 * Clerk: `ConvexProviderWithClerk` (from `convex/react-clerk`) with the provider SDK's
 * `useAuth`. `clerkLike.tsx` plays Clerk's SDK against the provider at
 * `VITE_OIDC_ISSUER`; the backend trusts that issuer through `auth_config.py`
 * (`CLERK_JWT_ISSUER_DOMAIN`, audience `convex`).
 */
import React from "react";
import ReactDOM from "react-dom/client";
import { ConvexReactClient, useConvexAuth } from "convex/react";
import { ConvexProviderWithClerk } from "convex/react-clerk";
import App from "../App";
import { CreateProfile, useCurrentUser } from "../auth";
import { ClerkLikeProvider, useAuth, useClerkLike } from "./clerkLike";
import "../styles.css";

const issuer = import.meta.env.VITE_OIDC_ISSUER as string | undefined;
// The client fetches a fresh token this long before the current one expires (default 10 s,
// for Clerk's one-minute tokens). The local provider may hand out tokens of a few seconds.
const convex = new ConvexReactClient(import.meta.env.VITE_CONVEX_URL as string, {
  authRefreshTokenLeewaySeconds: 2,
});

/** The header's corner: "Sign in with OpenID", or the user, their token's age, and "Sign out". */
function Account() {
  const { session, signIn, signOut } = useClerkLike();
  const { isLoading, isAuthenticated } = useConvexAuth();
  const me = useCurrentUser();
  if (isLoading) {
    return <span className="auth">Signing in…</span>;
  }
  if (!isAuthenticated) {
    return (
      <span className="auth">
        <button type="button" onClick={signIn} data-testid="oidc-sign-in">
          Sign in with OpenID
        </button>
      </span>
    );
  }
  const expires = session ? new Date(session.expiresAt * 1000).toLocaleTimeString() : "";
  return (
    <span className="auth">
      {me === null ? <CreateProfile /> : me && <span data-testid="signed-in">{me.name}</span>}
      {session && (
        <span className="hint" data-testid="token-info">
          token #{session.tokensIssued}, expires {expires}
        </span>
      )}
      <button type="button" onClick={signOut} data-testid="sign-out">
        Sign out
      </button>
    </span>
  );
}

ReactDOM.createRoot(document.getElementById("root")!).render(
  <React.StrictMode>
    {issuer ? (
      <ClerkLikeProvider issuer={issuer}>
        <ConvexProviderWithClerk client={convex} useAuth={useAuth}>
          <App account={<Account />} />
        </ConvexProviderWithClerk>
      </ClerkLikeProvider>
    ) : (
      <p className="empty">Set VITE_OIDC_ISSUER to an OpenID provider's issuer URL (see README.md).</p>
    )}
  </React.StrictMode>
);
