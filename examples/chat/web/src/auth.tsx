/**
 * Sign-in: the one place the app learns who the user is.
 *
 * `ConvexProviderWithPyconvexAuth` wraps the app in Convex's `ConvexProviderWithAuth`,
 * whose `useAuth()` reports the session kept by pyconvex's built-in sign-in
 * (`pyconvexAuth.ts`) and hands the client its `fetchAccessToken`; the client sends the
 * token to the backend, so `ctx.auth.get_user_identity()` in the Python functions sees
 * the user. Signing up or in runs the app's `users:onSignIn` hook (auth_config.py),
 * which creates the user's `users` record.
 *
 * Any other provider plugs in the same way: `clerk-like/` wires a Clerk-shaped one
 * through `ConvexProviderWithClerk`, as the guide does.
 */
import { ConvexProviderWithAuth, ConvexReactClient, useConvexAuth, useMutation, useQuery } from "convex/react";
import {
  createContext,
  useCallback,
  useContext,
  useMemo,
  useState,
  useSyncExternalStore,
  type FormEvent,
  type ReactNode,
} from "react";
import { api } from "../../convex/_generated/api";
import type { Doc } from "../../convex/_generated/dataModel";
import { errorText } from "./errors";
import type { PyconvexAuth } from "./pyconvexAuth";

const AuthContext = createContext<PyconvexAuth | null>(null);

/** The built-in sign-in's session, for `ConvexProviderWithPyconvexAuth` and the forms. */
export function usePyconvexAuth(): PyconvexAuth {
  const auth = useContext(AuthContext);
  if (auth === null) {
    throw new Error("usePyconvexAuth needs a ConvexProviderWithPyconvexAuth above it");
  }
  return auth;
}

/** `ConvexProviderWithAuth`'s `useAuth` for the built-in sign-in. */
function useAuthFromPyconvex() {
  const auth = usePyconvexAuth();
  // The signed-in subject: it changes on sign-in, sign-out or a switch of user (here or
  // in another tab), not on a token refresh, so the client re-authenticates only then.
  const subject = useSyncExternalStore(auth.subscribe, auth.subject);
  const fetchAccessToken = useCallback(
    ({ forceRefreshToken }: { forceRefreshToken: boolean }) =>
      subject === null ? Promise.resolve(null) : auth.fetchAccessToken({ forceRefreshToken }),
    [auth, subject]
  );
  return useMemo(
    () => ({ isLoading: false, isAuthenticated: subject !== null, fetchAccessToken }),
    [subject, fetchAccessToken]
  );
}

export function ConvexProviderWithPyconvexAuth({
  client,
  auth,
  children,
}: {
  client: ConvexReactClient;
  auth: PyconvexAuth;
  children: ReactNode;
}) {
  return (
    <AuthContext.Provider value={auth}>
      <ConvexProviderWithAuth client={client} useAuth={useAuthFromPyconvex}>
        {children}
      </ConvexProviderWithAuth>
    </AuthContext.Provider>
  );
}

/** The signed-in user's record: undefined while loading, null when signed out or not created yet. */
export function useCurrentUser(): Doc<"users"> | null | undefined {
  return useQuery(api.users.me);
}

/** The header's corner for the built-in sign-in: the form, or who is signed in and "Sign out". */
export function Account() {
  const auth = usePyconvexAuth();
  const { isLoading, isAuthenticated } = useConvexAuth();
  const me = useCurrentUser();
  if (isLoading) {
    return <span className="auth">Signing in…</span>;
  }
  if (!isAuthenticated) {
    return <SignInForm />;
  }
  return (
    <span className="auth">
      {me === undefined ? "…" : me === null ? "No profile" : <span data-testid="signed-in">{me.name}</span>}{" "}
      <button type="button" onClick={() => void auth.signOut()} data-testid="sign-out">
        Sign out
      </button>
    </span>
  );
}

/** Email and password: sign in, or create an account (with a display name). */
function SignInForm() {
  const auth = usePyconvexAuth();
  const [mode, setMode] = useState<"signIn" | "signUp">("signIn");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "signUp") {
        await auth.signUp({ email, password, name });
      } else {
        await auth.signIn({ email, password });
      }
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };

  return (
    <form className="auth sign-in" onSubmit={submit} data-testid="sign-in-form">
      {mode === "signUp" && (
        <input placeholder="Your name" value={name} onChange={(e) => setName(e.target.value)} data-testid="name" />
      )}
      <input
        type="email"
        placeholder="Email"
        autoComplete="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        data-testid="email"
      />
      <input
        type="password"
        placeholder="Password"
        autoComplete={mode === "signUp" ? "new-password" : "current-password"}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        data-testid="password"
      />
      <button type="submit" disabled={busy || !email || !password} data-testid="sign-in-submit">
        {mode === "signUp" ? "Create account" : "Sign in"}
      </button>
      <button
        type="button"
        className="link"
        onClick={() => setMode(mode === "signUp" ? "signIn" : "signUp")}
        data-testid="sign-in-mode"
      >
        {mode === "signUp" ? "I have an account" : "Create an account"}
      </button>
      {error && (
        <span className="error" data-testid="sign-in-error">
          {error}
        </span>
      )}
    </form>
  );
}

/** A user signed in with an outside provider but without a record yet creates one (users.create). */
export function CreateProfile() {
  const createUser = useMutation(api.users.create);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  return (
    <form
      className="profile"
      onSubmit={(event) => {
        event.preventDefault();
        void createUser({ name, email });
      }}
    >
      <input placeholder="Your name" value={name} onChange={(e) => setName(e.target.value)} data-testid="profile-name" />
      <input placeholder="Email" value={email} onChange={(e) => setEmail(e.target.value)} data-testid="profile-email" />
      <button type="submit" disabled={!name || !email} data-testid="profile-join">
        Join
      </button>
    </form>
  );
}
