import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { providers } from "@floodgate/gateway/providers";
import { envAliasesOf } from "@floodgate/provider-kit";
import { queueEnvNames } from "@floodgate/queue";
import { readGatewayEnv } from "../../../apps/gateway/src/env.js";
import { readWorkerEnv } from "../../../apps/worker/src/env.js";
import type { AppName } from "../../../scripts/deploy-app.mjs";
import { REPO_ROOT, workspacePackages } from "./repo.js";

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * The variables an env reader looks at, found by handing it an empty environment that records
 * every name it is asked for (zod reads each key of the schema's shape).
 */
export function namesReadBy(read: (env: NodeJS.ProcessEnv) => unknown): Set<string> {
  const seen = new Set<string>();
  const record = (key: string | symbol) => {
    if (typeof key === "string" && ENV_NAME.test(key)) seen.add(key);
  };
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_target, key) => (record(key), undefined),
    has: (_target, key) => (record(key), false),
  });
  read(env);
  return seen;
}

/** Provider secrets: every key of each registered provider's config schema, and their aliases. */
export function providerEnvNames(): Set<string> {
  const names = new Set<string>();
  for (const provider of providers) {
    const shape = (provider.config as { shape?: Record<string, unknown> }).shape;
    for (const key of Object.keys(shape ?? {})) names.add(key);
    for (const [preferred, aliases] of Object.entries(envAliasesOf(provider.config))) {
      names.add(preferred);
      for (const alias of aliases) names.add(alias);
    }
  }
  return names;
}

const PROCESS_ENV = [/process\.env\.([A-Z][A-Z0-9_]*)/g, /process\.env\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]/g];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      // Test helpers are never loaded by a deployed app.
      if (name !== "testing") out.push(...sourceFiles(path));
    } else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts") && name !== "bench.ts") {
      out.push(path);
    }
  }
  return out;
}

/** Names read straight from `process.env` in a package's production sources (e.g. FLOODGATE_ED25519, LOG_LEVEL). */
export function processEnvNamesIn(packageDir: string): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(join(packageDir, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const pattern of PROCESS_ENV) for (const m of text.matchAll(pattern)) names.add(m[1] as string);
  }
  return names;
}

/** Workspace packages an app runs (itself and its production dependencies, transitively). */
export function runtimePackages(app: AppName): string[] {
  const all = workspacePackages();
  const start = { gateway: "@floodgate/gateway", worker: "@floodgate/worker", migrate: "@floodgate/db" }[app];
  const seen = new Set<string>();
  const visit = (name: string) => {
    const pkg = all.get(name);
    if (!pkg || seen.has(name)) return;
    seen.add(name);
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) visit(dep);
    for (const dep of Object.keys(pkg.manifest.optionalDependencies ?? {})) visit(dep);
  };
  visit(start);
  return [...seen].map((name) => (all.get(name) as { dir: string }).dir);
}

/**
 * Every environment variable an app reads, from the code: its env schema (gateway, worker), the
 * queue configuration's names (both), the providers' secrets (gateway; the worker runs the
 * plugins' mappings only), and direct `process.env` reads in the packages it runs.
 */
export function knownEnv(app: AppName): Set<string> {
  const names = new Set<string>();
  const add = (set: Iterable<string>) => {
    for (const n of set) names.add(n);
  };
  if (app === "gateway") add(namesReadBy(readGatewayEnv));
  if (app === "worker") add(namesReadBy(readWorkerEnv));
  if (app !== "migrate") add(Object.values(queueEnvNames));
  if (app === "gateway") add(providerEnvNames());
  for (const dir of runtimePackages(app)) add(processEnvNamesIn(dir));
  return names;
}

/** The defaults an app's env schema gives (ports, timeouts), parsed from an empty environment. */
export const gatewayDefaults = readGatewayEnv({});
export const workerDefaults = readWorkerEnv({});

export { REPO_ROOT };
