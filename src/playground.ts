import express, { type Router } from "express";
import path from "node:path";

/** Directory of an installed package (resolved from its package.json, so it works wherever npm put it). */
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

/**
 * The GraphiQL playground, served from npm packages only (no CDN): it works offline. A bar above
 * the editor holds the bearer token (kept in the browser's localStorage); queries go over HTTP,
 * subscriptions over graphql-ws with the token in `connectionParams.authorization`.
 */
export function playgroundAssets(): Router {
  const router = express.Router();
  const opts = { immutable: true, maxAge: "1d", index: false } as const;
  router.get("/graphiql.min.js", (_req, res) => res.sendFile(path.join(packageDir("graphiql"), "graphiql.min.js")));
  router.get("/graphiql.min.css", (_req, res) => res.sendFile(path.join(packageDir("graphiql"), "graphiql.min.css")));
  router.get("/react.production.min.js", (_req, res) => res.sendFile(path.join(packageDir("react"), "umd/react.production.min.js")));
  router.get("/react-dom.production.min.js", (_req, res) => res.sendFile(path.join(packageDir("react-dom"), "umd/react-dom.production.min.js")));
  router.use("/graphql-ws", express.static(path.join(packageDir("graphql-ws"), "dist"), opts));
  return router;
}

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
<div id="graphiql">Loading…</div>
<script src="/playground/react.production.min.js"></script>
<script src="/playground/react-dom.production.min.js"></script>
<script src="/playground/graphiql.min.js"></script>
<script type="module">
import { createClient } from "/playground/graphql-ws/client.js";

const endpoint = ${JSON.stringify(endpoint)};
const tokenInput = document.getElementById("token");
tokenInput.value = localStorage.getItem("workgraph.token") || "";
tokenInput.addEventListener("input", () => localStorage.setItem("workgraph.token", tokenInput.value.trim()));

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

async function fetcher(params, opts) {
  const auth = authorization(opts && opts.headers);
  if (isSubscription(params.query || "", params.operationName)) {
    const client = createClient({ url: wsUrl.href, connectionParams: auth ? { authorization: auth } : {}, lazy: true, retryAttempts: 0 });
    const iterator = client.iterate(params);
    return {
      [Symbol.asyncIterator]() { return this; },
      next: () => iterator.next(),
      return: async () => { await iterator.return?.(); client.dispose(); return { done: true, value: undefined }; },
    };
  }
  const headers = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
  for (const [k, v] of Object.entries((opts && opts.headers) || {})) headers[k] = v;
  if (auth) headers.authorization = auth;
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

const root = ReactDOM.createRoot(document.getElementById("graphiql"));
root.render(React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: false, isHeadersEditorEnabled: true }));
</script>
</body>
</html>`;
}
