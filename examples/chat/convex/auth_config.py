"""Who can sign in to the chat app (Convex's ``auth.config.ts``; docs/concepts/auth.md).

Built-in sign-in: email and password accounts at ``/api/auth/*``, each linked to
a row of the app's own ``users`` table by ``users:onSignIn``. OAuth providers
can be added to ``sign_in["oauth"]`` (``"github"``, ``"google"``, ...; their client
ids and secrets go in ``pyconvex env set AUTH_GITHUB_ID ...``).

An outside issuer (Clerk, or any OpenID provider) is trusted as the guide does it,
from the deployment's environment: ``pyconvex env set CLERK_JWT_ISSUER_DOMAIN
https://your-app.clerk.accounts.dev``. Its users make their ``users`` row with
``users:create`` (the frontend's ``web/clerk-like.html`` shows that wiring).
"""

from pyconvex import env

sign_in = {
    "password": True,
    "on_user": "users:onSignIn",
    # The web app's address, where OAuth sign-ins may send users back.
    "redirect_urls": ["http://localhost:5173"],
}

providers: list[dict[str, str]] = []
if "CLERK_JWT_ISSUER_DOMAIN" in env:
    providers.append({"domain": env["CLERK_JWT_ISSUER_DOMAIN"], "applicationID": "convex"})
