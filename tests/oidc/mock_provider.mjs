// The identity providers of tests/tests/oauth.rs: oauth2-mock-server (a real OpenID
// provider process: discovery, JWKS, authorization code with PKCE verification and nonce,
// RS256 ID tokens), plus a control endpoint that tells it, per client id, who logs in and
// which fault to inject. Each test case uses its own client id, so cases run in parallel.
//
// Prints one line `READY {"oidc": port, "github": port, "control": port}` when listening.
//
// Faults (`tamper`): "aud", "nonce", "iss", "exp" change the ID token's claim before it is
// signed; "signature" breaks the signature after; `token_error` makes the token endpoint
// refuse; `authorize_error` makes the authorization endpoint answer with an error.
import http from "node:http";
import { OAuth2Server } from "oauth2-mock-server";

const scenarios = new Map();
const scenario = (clientId) => scenarios.get(clientId) ?? {};

function clientOf(req) {
  const auth = req.headers.authorization ?? "";
  if (auth.startsWith("Basic ")) {
    const [id] = Buffer.from(auth.slice(6), "base64").toString().split(":");
    return decodeURIComponent(id);
  }
  return req.body?.client_id ?? req.query?.client_id;
}

// The client id an access token was issued to (the tests' user-info endpoints).
function clientOfBearer(req) {
  const auth = req.headers.authorization ?? "";
  if (!auth.startsWith("Bearer ")) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(auth.slice(7).split(".")[1], "base64url").toString());
    return payload.test_client;
  } catch {
    return undefined;
  }
}

function instrument(server) {
  const service = server.service;
  service.on("beforeAuthorizeRedirect", (redirect, req) => {
    const sc = scenario(req.query.client_id);
    sc.lastAuthorize = { ...req.query };
    scenarios.set(req.query.client_id, sc);
    if (sc.authorize_error) {
      redirect.url.searchParams.delete("code");
      redirect.url.searchParams.set("error", sc.authorize_error);
      redirect.url.searchParams.set("error_description", "refused by the test");
    }
  });
  service.on("beforeTokenSigning", (token, req) => {
    const clientId = clientOf(req);
    const sc = scenario(clientId);
    token.payload.test_client = clientId;
    if (sc.sub) token.payload.sub = sc.sub;
    Object.assign(token.payload, sc.claims ?? {});
    if (sc.tamper === "aud") token.payload.aud = "someone-else";
    if (sc.tamper === "nonce") token.payload.nonce = "not-this-login";
    if (sc.tamper === "iss") token.payload.iss = "http://evil.example/";
    if (sc.tamper === "exp") {
      token.payload.iat = Math.floor(Date.now() / 1000) - 7200;
      token.payload.exp = Math.floor(Date.now() / 1000) - 3600;
    }
  });
  service.on("beforeResponse", (response, req) => {
    const sc = scenario(clientOf(req));
    if (sc.tamper === "signature" && response.body.id_token) {
      const [h, p, s] = response.body.id_token.split(".");
      const flipped = (s[0] === "A" ? "B" : "A") + s.slice(1);
      response.body.id_token = [h, p, flipped].join(".");
    }
    if (sc.token_error) {
      response.statusCode = 400;
      response.body = { error: sc.token_error };
    }
  });
  service.on("beforeUserinfo", (response, req) => {
    const sc = scenario(clientOfBearer(req));
    if (sc.userinfo) response.body = sc.userinfo;
  });
}

const oidc = new OAuth2Server(undefined, undefined, {
  shouldIssuerUrlBeSuffixedWithATralingSlash: true,
});
const github = new OAuth2Server(undefined, undefined, {
  endpoints: { authorize: "/login/oauth/authorize", token: "/login/oauth/access_token" },
});
for (const server of [oidc, github]) {
  await server.issuer.keys.generate("RS256");
  instrument(server);
}
await oidc.start(0, "127.0.0.1");
await github.start(0, "127.0.0.1");
// The issuer as the tests configure it (the library would say "localhost").
oidc.issuer.url = `http://127.0.0.1:${oidc.address().port}/`;
github.issuer.url = `http://127.0.0.1:${github.address().port}/`;

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

// Control (POST /scenario/<client id>, GET to read it back) and GitHub's API (/user,
// /user/emails) for the GitHub preset.
const control = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const match = url.pathname.match(/^\/scenario\/(.+)$/);
  if (match && req.method === "POST") {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      scenarios.set(decodeURIComponent(match[1]), JSON.parse(body || "{}"));
      json(res, 200, { ok: true });
    });
    return;
  }
  if (match && req.method === "GET") {
    return json(res, 200, scenario(decodeURIComponent(match[1])));
  }
  const sc = scenario(clientOfBearer(req));
  if (url.pathname === "/user") {
    return sc.github_user ? json(res, 200, sc.github_user) : json(res, 401, { message: "Bad credentials" });
  }
  if (url.pathname === "/user/emails") {
    return json(res, 200, sc.github_emails ?? []);
  }
  json(res, 404, { message: "Not Found" });
});
await new Promise((resolve) => control.listen(0, "127.0.0.1", resolve));

console.log(
  "READY " +
    JSON.stringify({
      oidc: oidc.address().port,
      github: github.address().port,
      control: control.address().port,
    }),
);

// Stop with the test binary: its end closes our stdin.
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
