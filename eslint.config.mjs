// ESLint flat config (issue 12, "The habits"). `npm run lint` runs it, then `prettier --check`.
// Formatting is Prettier's job (.prettierrc.json); the only layout rule here is max-len, because
// Prettier does not wrap comments or long strings.
import { defineConfig } from "eslint/config";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import boundaries from "eslint-plugin-boundaries";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import globals from "globals";

/**
 * The folders of src/ and the imports each may make (relative imports between folders; a file may
 * always import files of its own folder). `allowTypes` lists targets that only `import type` may reach.
 * Anything not listed is refused by `boundaries/dependencies` (default: disallow). Composition roots
 * (server, main, cli, demo, playground, context and the server's parts in http/) may import anything.
 */
const ELEMENTS = [
  // Top-level files first: the first matching descriptor wins.
  { type: "config", pattern: "src/config.ts", mode: "full" },
  { type: "log", pattern: "src/log.ts", mode: "full" },
  { type: "context", pattern: "src/context.ts", mode: "full" },
  { type: "root", pattern: "src/{server,main,cli,demo,playground}.ts", mode: "full" },
  { type: "root", pattern: "src/http/**", mode: "full" },
  ...["domain", "errors", "policy", "db", "entities", "events", "limits", "ratelimit", "services", "auth", "schema", "resolvers", "rest", "metrics"].map(
    (folder) => ({
      type: folder,
      pattern: `src/${folder}/**`,
      mode: "full",
    }),
  ),
  { type: "fanout", pattern: "src/fanout/**", mode: "full" },
];

const el = (type, files) => (files ? { element: { type, fileInternalPath: files } } : { element: { type } });
/** `from` (optionally only its files `fromFiles`) may import the listed targets. */
const allow = (from, targets, fromFiles) => ({ from: el(from, fromFiles), allow: { to: targets.map((t) => (typeof t === "string" ? el(t) : t)) } });
/** Every folder may import its own files (each file is matched as its own element, "full" mode). */
const OWN_FOLDER = { from: { element: { type: "{{from.element.type}}" } }, allow: { to: { element: { type: "{{from.element.type}}" } } } };
/** Like `allow`, for `import type` only. */
const allowTypes = (from, targets) => ({ ...allow(from, targets), importKind: "type" });

const LAYERS = [
  OWN_FOLDER,
  allow("domain", ["errors"]),
  allow("errors", ["log", "config"]),
  // The one CIDR parser validates METRICS_ALLOW_NETWORKS (network.ts imports nothing of ours).
  allow("config", ["log", el("auth", ["network.ts"])]),
  allow("log", ["config"]),
  allow("policy", ["domain", "errors", "db"]),
  allow("db", ["domain", "errors", "entities", "config", "log"]),
  allow("entities", ["domain", el("schema", ["node.ts", "global-id.ts"])]),
  allow("events", ["db", "entities", "domain", "errors", "log", "config"]),
  // The cost analysis reads the cost and edition declarations, which live with the schema's directives.
  allow("limits", ["errors", "config", "log", "domain", "policy", "db", el("schema", ["cost.ts", "edition.ts"])]),
  allow("ratelimit", ["errors", "config", "log", "domain", "policy", "db"]),
  allow("services", [
    "db",
    "events",
    "policy",
    "entities",
    "domain",
    "errors",
    "limits",
    "config",
    "log",
    el("auth", ["passwords.ts", "secrets.ts", "network.ts"]),
  ]),
  allowTypes("services", ["context"]),
  // Tokens and ID tokens carry the API's global ids (corp, member, app, departments) by protocol.
  allow("auth", ["db", "events", "policy", "services", "entities", "domain", "errors", "config", "log", "ratelimit", "limits", el("schema", ["global-id.ts"])]),
  allow("schema", ["domain", "entities", "policy", "errors", "limits", "config"]),
  allow("schema", ["resolvers"], ["build.ts", "print.ts"]),
  allow("resolvers", ["schema", "services", "policy", "entities", "domain", "errors", "limits", "context"]),
  // The one paging helper: resolvers turn Relay arguments into a page window with it.
  allow("resolvers", [el("db", ["paging.ts"])]),
  allowTypes("resolvers", ["db"]),
  allow("rest", ["services", "policy", "auth", "errors", "context", "config", "log", "entities", "domain", "limits", "ratelimit"]),
  // /metrics (issue 13): the address rules and bearer parsing of auth, the API's JSON errors; what it
  // counts (a rate-limit charge) and the labelled cross-corp handle it reads import jobs through, as types.
  allow("metrics", ["log", "errors", el("auth", ["network.ts", "oauth-types.ts"])]),
  allowTypes("metrics", [el("ratelimit", ["types.ts"]), el("db", ["cross-corp.ts"])]),
  // Subscription fan-out (issue 14): it reads the event relay and executes with request contexts made
  // by the transport; services tag their streams (source.ts), resolvers mark the fields it serves.
  allow("fanout", ["events", "log", "errors", "config"]),
  allowTypes("fanout", ["context", "policy"]),
  allow("services", [el("fanout", ["source.ts"])]),
  allow("resolvers", [el("fanout", ["source.ts"])]),
  { from: el(["root", "context"]), allow: { to: { element: { type: "*" } } } },
];

// An import counts as type-only when the declaration says `import type` or when every specifier
// says `type` (`import { type A, type B }`); the plugin's default "import" node counts the latter as a value.
const HAS_VALUE_SPECIFIER = ":has(ImportSpecifier[importKind=value], ImportDefaultSpecifier, ImportNamespaceSpecifier)";
const IMPORT_NODES = [
  { name: "import", kind: "value", selector: `ImportDeclaration:not([importKind=type])${HAS_VALUE_SPECIFIER} > Literal` },
  { name: "import", kind: "value", selector: "ImportDeclaration[specifiers.length=0] > Literal" },
  { name: "import", kind: "type", selector: "ImportDeclaration[importKind=type] > Literal" },
  { name: "import", kind: "type", selector: `ImportDeclaration:not([importKind=type]):not(${HAS_VALUE_SPECIFIER}):has(ImportSpecifier) > Literal` },
];

// Programs whose output is the console: the CLI, the process start, scripts, benchmarks, the example app.
const NODE_SCRIPTS = [
  "src/cli.ts",
  "src/main.ts",
  "scripts/**",
  "bench/**",
  "examples/**",
  "test/global-setup.mjs",
  "test/global-teardown.mjs",
  "test/sso-client.mjs",
];

export default defineConfig(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "bench/.build/**", "bench/.work/**", "bench/results/**", ".build-lock/**", ".data/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-console": "error",
      "max-len": ["error", { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
    },
  },
  { files: NODE_SCRIPTS, rules: { "no-console": "off" } },
  {
    // STYLE.md habit 8 (batch per request): a resolver or a loader never awaits once per item. Elsewhere
    // the awaits in loops are deliberate (measured 2026-12-01: 159 in src/test/bench/scripts, 23 in src/:
    // ordered before-commit hooks, keyset-paged export and relay streams, polling loops, statements on
    // one transaction's connection, which cannot run in parallel anyway; tests send requests in order).
    files: ["src/resolvers/**/*.ts", "src/**/loaders*.ts"],
    rules: { "no-await-in-loop": "error" },
  },
  {
    // CommonJS scripts (bench, scripts/run-compiled.js, jest.config.js).
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // The folder boundaries of src/ and import cycles there.
    files: ["src/**/*.ts"],
    plugins: { boundaries, "import-x": importX },
    settings: {
      "boundaries/elements": ELEMENTS,
      "boundaries/include": ["src/**/*.ts"],
      "boundaries/legacy-warnings": false,
      "boundaries/dependency-nodes": ["export", "dynamic-import", "require"],
      "boundaries/additional-dependency-nodes": IMPORT_NODES,
      // import-x (no-cycle) and boundaries (through eslint-module-utils) resolve with the same TypeScript resolver.
      "import-x/extensions": [".ts", ".js"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
      "import/resolver": { typescript: { project: "tsconfig.json" } },
    },
    rules: {
      "boundaries/dependencies": ["error", { default: "disallow", policies: LAYERS }],
      "boundaries/no-unknown-files": "error",
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
);
