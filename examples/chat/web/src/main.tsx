import React from "react";
import ReactDOM from "react-dom/client";
import { ConvexReactClient } from "convex/react";
import App from "./App";
import { Account, ConvexProviderWithPyconvexAuth } from "./auth";
import { errorText } from "./errors";
import { createAuth } from "./pyconvexAuth";
import "./styles.css";

const url = import.meta.env.VITE_CONVEX_URL as string;
const convex = new ConvexReactClient(url);
const auth = createAuth({ url });

function render() {
  ReactDOM.createRoot(document.getElementById("root")!).render(
    <React.StrictMode>
      <ConvexProviderWithPyconvexAuth client={convex} auth={auth}>
        <App account={<Account />} />
      </ConvexProviderWithPyconvexAuth>
    </React.StrictMode>
  );
}

// Back from an OAuth provider (`?code=` in the URL)? Finish signing in first.
auth
  .handleRedirect()
  .catch((error: unknown) => console.error(`OAuth sign-in failed: ${errorText(error)}`))
  .finally(render);
