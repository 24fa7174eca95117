import express, { type Router } from "express";
import path from "node:path";

/** Directory of an installed package (resolved from its package.json, so it works wherever npm put it). */
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

/**
 * The playground page's Content-Security-Policy (issue 11, finding 12): scripts, styles, fonts and
 * connections from this origin only (so the page works offline and loads nothing from elsewhere),
 * no inline scripts, never framed. Inline styles are allowed: GraphiQL's editors set style attributes.
 */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The GraphiQL playground, served from npm packages only (no CDN): it works offline. A bar above
 * the editor holds the bearer token (kept in the browser's localStorage); every request the page
 * makes carries it: queries and the schema's introspection over HTTP, subscriptions over graphql-ws
 * in `connectionParams.authorization`. Without a token the page says to paste one (the gateway
 * answers nothing, not even introspection, without one).
 */
export function playgroundAssets(): Router {
  const router = express.Router();
  const opts = { immutable: true, maxAge: "1d", index: false } as const;
  router.get("/graphiql.min.js", (_req, res) => res.sendFile(path.join(packageDir("graphiql"), "graphiql.min.js")));
  router.get("/graphiql.min.css", (_req, res) => res.sendFile(path.join(packageDir("graphiql"), "graphiql.min.css")));
  router.get("/react.production.min.js", (_req, res) => res.sendFile(path.join(packageDir("react"), "umd/react.production.min.js")));
  router.get("/react-dom.production.min.js", (_req, res) => res.sendFile(path.join(packageDir("react-dom"), "umd/react-dom.production.min.js")));
  router.get("/playground.js", (_req, res) => {
    res.setHeader("cache-control", "no-cache");
    res.type("text/javascript").send(PLAYGROUND_SCRIPT);
  });
  router.use("/graphql-ws", express.static(path.join(packageDir("graphql-ws"), "dist"), opts));
  return router;
}

/** Headers of the playground page; `server.ts` sends them with `playgroundHtml`. */
export const PLAYGROUND_HEADERS: Record<string, string> = {
  "content-security-policy": PLAYGROUND_CSP,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-cache",
};

const escapeAttr = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function playgroundHtml(endpoint: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Workgraph playground</title>
<link rel="stylesheet" href="/playground/graphiql.min.css">
<style>
  html, body { height: 100%; margin: 0; font-family: system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  #bar { display: flex; gap: 8px; align-items: center; padding: 6px 12px; background: #0b3d5c; color: #fff; font-size: 14px; }
  #bar b { margin-right: 8px; }
  #bar input { flex: 1; font-family: monospace; font-size: 12px; padding: 4px 6px; border-radius: 4px; border: 0; }
  #bar a { color: #cfe8ff; }
  #hint { padding: 6px 12px; background: #fff7d6; color: #5c4500; font-size: 14px; border-bottom: 1px solid #e8d9a0; }
  #hint[hidden] { display: none; }
  #graphiql { flex: 1; min-height: 0; }
</style>
</head>
<body>
<div id="bar">
  <b>Workgraph</b>
  <label for="token">Bearer token</label>
  <input id="token" placeholder="paste an access_token from POST /oauth/token (kept in this browser only)" autocomplete="off" spellcheck="false">
  <a href="https://graphql.org/learn/" target="_blank" rel="noreferrer">GraphQL</a>
</div>
<div id="hint" role="status">Paste a bearer token in the bar above to see the schema and run queries: <code>curl -s -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials ${escapeAttr(endpoint.replace(/\/graphql$/, ""))}/oauth/token</code> gives one (README: "Five-minute tour"). Without a token the gateway answers nothing, not even the schema.</div>
<div id="graphiql" data-endpoint="${escapeAttr(endpoint)}">Loading…</div>
<script src="/playground/react.production.min.js"></script>
<script src="/playground/react-dom.production.min.js"></script>
<script src="/playground/graphiql.min.js"></script>
<script type="module" src="/playground/playground.js"></script>
</body>
</html>`;
}

/** The page's own script: a file of this origin, not inline, so the CSP needs no 'unsafe-inline' for scripts. */
const PLAYGROUND_SCRIPT = `import { createClient } from "/playground/graphql-ws/client.js";

const mount = document.getElementById("graphiql");
const endpoint = mount.dataset.endpoint;
const tokenInput = document.getElementById("token");
const hint = document.getElementById("hint");
tokenInput.value = localStorage.getItem("workgraph.token") || "";

function authorization(headers) {
  const fromEditor = headers && (headers.Authorization || headers.authorization);
  if (fromEditor) return fromEditor;
  const token = tokenInput.value.trim();
  return token ? (token.startsWith("Bearer ") ? token : "Bearer " + token) : undefined;
}

function isSubscription(query, operationName) {
  const ops = [...query.matchAll(/(^|[}\\s])(query|mutation|subscription)\\b\\s*([_A-Za-z][_0-9A-Za-z]*)?/g)];
  const op = operationName ? ops.find((m) => m[3] === operationName) : ops[0];
  return Boolean(op && op[2] === "subscription");
}

const wsUrl = new URL(endpoint, location.href);
wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";

const NO_TOKEN = { errors: [{ message: "No bearer token: paste an access token in the bar above (POST /oauth/token gives one). The gateway answers nothing without one, not even the schema." }] };

async function fetcher(params, opts) {
  const auth = authorization(opts && opts.headers);
  if (!auth) return NO_TOKEN;
  if (isSubscription(params.query || "", params.operationName)) {
    const client = createClient({ url: wsUrl.href, connectionParams: { authorization: auth }, lazy: true, retryAttempts: 0 });
    const iterator = client.iterate(params);
    return {
      [Symbol.asyncIterator]() { return this; },
      next: () => iterator.next(),
      return: async () => { await iterator.return?.(); client.dispose(); return { done: true, value: undefined }; },
    };
  }
  // Every HTTP request carries the token, the schema's introspection included.
  const headers = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
  for (const [k, v] of Object.entries((opts && opts.headers) || {})) headers[k] = v;
  headers.authorization = auth;
  const res = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify(params) });
  return res.json();
}

const defaultQuery = \`# Paste a token in the bar above (README: "Five-minute tour"), then run:
query Tour {
  viewer { role scopes corp { name edition } }
  departments(first: 10) {
    nodes { id name memberCount children { name } }
  }
}

# Live changes (in a new tab, then change something):
# subscription Follow {
#   directoryEvents { cursor type member { name } department { name } }
# }
\`;

const root = ReactDOM.createRoot(mount);
let generation = 0;
function render() {
  hint.hidden = Boolean(tokenInput.value.trim());
  // A new key remounts GraphiQL, which fetches the schema again with the new token.
  root.render(React.createElement(GraphiQL, { key: String(generation), fetcher, defaultQuery, defaultEditorToolsVisibility: false, isHeadersEditorEnabled: true }));
}
let timer;
tokenInput.addEventListener("input", () => {
  localStorage.setItem("workgraph.token", tokenInput.value.trim());
  hint.hidden = Boolean(tokenInput.value.trim());
  clearTimeout(timer);
  timer = setTimeout(() => { generation++; render(); }, 300);
});
render();
`;
