// A real OpenID provider (oidc-provider, pinned in package.json) on a free loopback port.
// Usage: node provider.mjs '<config JSON>'
//   config: {"clients": [oidc-provider client metadata], "ttl": {"IdToken": seconds, ...}}
// Prints {"issuer": url} once listening. POST /__rotate makes it sign with a new key (the
// old one stays published, as real providers rotate). Accounts: any login, with the claims
// sub=<login>, email=<login>@example.com (verified), name=<Login>.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2] ?? "{}");
const newKey = (n) => ({
  ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }),
  kid: `rsa-${n}`, use: "sig", alg: "RS256",
});

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const keys = [newKey(1)];
const build = () => new Provider(issuer, {
  clients: config.clients ?? [],
  jwks: { keys: [...keys].reverse() }, // the newest key signs
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.com`,
      email_verified: !id.startsWith("unverified"),
      name: id[0].toUpperCase() + id.slice(1),
    }),
  }),
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["pyconvex-tests"] },
  pkce: { required: () => true },
  // Put the scopes' claims (email, name) in the ID token itself, as most providers do.
  conformIdTokenClaims: false,
  ttl: { IdToken: 3600, AccessToken: 3600, ...config.ttl },
});
let provider = build();

server.on("request", (req, res) => {
  if (req.method === "POST" && req.url === "/__rotate") {
    keys.push(newKey(keys.length + 1));
    provider = build();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ kid: keys.at(-1).kid }));
    return;
  }
  provider.callback()(req, res);
});
console.log(JSON.stringify({ issuer }));
