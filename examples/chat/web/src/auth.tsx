/**
 * Sign-in: the one place the app learns who the user is.
 *
 * `AuthProvider` wraps the app in Convex's `ConvexProviderWithAuth`, which asks
 * `useAuth()` for a token (`fetchAccessToken`) and sends it to the backend, so
 * `ctx.auth.get_user_identity()` in the Python functions sees the user.
 *
 * TODO(auth): pyconvex's built-in sign-in (password + a JWT issuer served at
 * /api/auth/*, and a JS helper giving `fetchAccessToken`) is being built on the
 * `auth` branch. When it lands, replace `useSignedOut` below with the hook it
 * provides (same shape: `{ isLoading, isAuthenticated, fetchAccessToken }`) and
 * render its sign-in form in `SignIn`. Nothing else in the app changes: a
 * Clerk app would pass Clerk's `useAuth` the same way (ConvexProviderWithClerk).
 */
import { ConvexProviderWithAuth, ConvexReactClient, useConvexAuth, useMutation, useQuery } from "convex/react";
import { useState, type ReactNode } from "react";
import { api } from "../../convex/_generated/api";
import type { Doc } from "../../convex/_generated/dataModel";

type AuthState = {
  isLoading: boolean;
  isAuthenticated: boolean;
  fetchAccessToken: (args: { forceRefreshToken: boolean }) => Promise<string | null>;
};

/** Until sign-in exists: nobody is signed in, and no token is ever sent. */
function useSignedOut(): AuthState {
  return { isLoading: false, isAuthenticated: false, fetchAccessToken: signedOutToken };
}

async function signedOutToken(): Promise<string | null> {
  return null;
}

export function AuthProvider({ client, children }: { client: ConvexReactClient; children: ReactNode }) {
  return (
    <ConvexProviderWithAuth client={client} useAuth={useSignedOut}>
      {children}
    </ConvexProviderWithAuth>
  );
}

/** The signed-in user's record: undefined while loading, null when signed out or not created yet. */
export function useCurrentUser(): Doc<"users"> | null | undefined {
  return useQuery(api.users.me);
}

/** The header's corner: who is signed in, or how to sign in. */
export function SignIn() {
  const { isLoading, isAuthenticated } = useConvexAuth();
  const me = useCurrentUser();
  if (isLoading) {
    return <span className="auth">Signing in…</span>;
  }
  if (!isAuthenticated) {
    // TODO(auth): the built-in sign-in form goes here.
    return (
      <span className="auth" data-testid="signed-out">
        Signed out: you can read, but posting needs sign-in.
      </span>
    );
  }
  if (me === undefined) {
    return <span className="auth">Loading…</span>;
  }
  return me === null ? <CreateProfile /> : <span className="auth" data-testid="signed-in">{me.name}</span>;
}

/** A signed-in user without a record yet creates one (users.create). */
function CreateProfile() {
  const createUser = useMutation(api.users.create);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  return (
    <form
      className="auth"
      onSubmit={(event) => {
        event.preventDefault();
        void createUser({ name, email });
      }}
    >
      <input placeholder="Your name" value={name} onChange={(e) => setName(e.target.value)} />
      <input placeholder="Email" value={email} onChange={(e) => setEmail(e.target.value)} />
      <button type="submit" disabled={!name || !email}>
        Join
      </button>
    </form>
  );
}
