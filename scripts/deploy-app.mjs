#!/usr/bin/env node
// `pnpm deploy:app <gateway|worker|migrate> <dir>`: a self-contained folder for one app that
// starts with plain `node` and nothing else from the repository.
//
//   1. builds the app and the workspace packages it uses (turbo; skipped with --skip-build);
//   2. `pnpm --filter <package> deploy --prod <dir>`: the app's built files (its `files`) and a
//      node_modules of its production dependencies, the workspace packages copied in (their
//      dist/, which plain node resolves through the "import" export condition; the
//      "@floodgate/source" condition only applies under vitest and tsx);
//   3. prunes what the deployed processes never load: packages reached only through optional
//      peer dependencies (pnpm's autoInstallPeers puts vitest, vite and the Prisma CLI there)
//      and the dependencies of workspace packages that the app's code never imports (the worker
//      and the migrate runner use @floodgate/db's SQL, never its Prisma client). What is kept is
//      found by following the imports of the app's entry files (its `bin` and `start` script)
//      through our own packages' dist files, then every dependency of each third-party package
//      reached; the TypeScript sources of our packages are removed too, so nothing can resolve
//      to them.
//
// The deploy test (tooling/deploy-check) builds every app this way into a temporary folder and
// runs it against NATS and PostgreSQL; the Dockerfiles run the same command in their build stage.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The deployable apps: the name used on the command line → workspace package and folder. */
export const APPS = {
  gateway: { pkg: "@floodgate/gateway", dir: "apps/gateway" },
  worker: { pkg: "@floodgate/worker", dir: "apps/worker" },
  migrate: { pkg: "@floodgate/db", dir: "packages/db" },
};

/**
 * The files a deployed app is started from, relative to its folder: every `bin` target and the
 * script file of `scripts.start` (e.g. `dist/main.js`), read from the app's package.json.
 */
export function entryFiles(manifest) {
  const files = new Set();
  const bin = typeof manifest.bin === "string" ? { [manifest.name]: manifest.bin } : (manifest.bin ?? {});
  for (const file of Object.values(bin)) files.add(file.replace(/^\.\//, ""));
  for (const token of (manifest.scripts?.start ?? "").split(/\s+/)) {
    if (/\.m?js$/.test(token)) files.add(token.replace(/^\.\//, ""));
  }
  return [...files].sort();
}

/** Node flags of the app's `start` script (`node <flags> dist/main.js`), for Dockerfiles and manifests. */
export function startFlags(manifest) {
  const tokens = (manifest.scripts?.start ?? "").split(/\s+/).filter(Boolean);
  return tokens.slice(1).filter((t) => t.startsWith("--"));
}

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const BUILTINS = new Set(builtinModules);
const isBuiltin = (spec) => spec.startsWith("node:") || BUILTINS.has(spec.split("/")[0]);
const packageNameOf = (spec) => (spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);

// Import specifiers in tsup's ESM output: static imports and re-exports, side-effect imports,
// dynamic imports with a literal, and require()/createRequire(...)() calls (optional native
// dependencies are loaded that way).
const IMPORT_PATTERNS = [/\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g];
const REQUIRE_PATTERNS = [/\brequire\(\s*["']([^"']+)["']\s*\)/g, /createRequire\([^)]*\)\(\s*["']([^"']+)["']\s*\)/g];

/** Specifiers a file loads → "import" or "require" (a require of a missing package is taken as optional). */
function specifiersIn(file) {
  const text = readFileSync(file, "utf8");
  const found = new Map();
  for (const pattern of REQUIRE_PATTERNS) for (const m of text.matchAll(pattern)) found.set(m[1], "require");
  for (const pattern of IMPORT_PATTERNS) for (const m of text.matchAll(pattern)) found.set(m[1], "import");
  return found;
}

/** Node's lookup of a package folder from `fromDir`: `<ancestor>/node_modules/<name>`. */
function findPackageDir(name, fromDir, root) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/** The file a workspace package's export resolves to under plain node (the "import" condition). */
function resolveExport(pkgDir, spec, name) {
  const manifest = readJson(join(pkgDir, "package.json"));
  const subpath = "." + spec.slice(name.length);
  const target = manifest.exports?.[subpath] ?? (subpath === "." ? manifest.main : undefined);
  const file = typeof target === "string" ? target : (target?.import ?? target?.default);
  if (!file) throw new Error(`${spec}: ${name} exports no "import" target for ${subpath}`);
  return join(pkgDir, file);
}

function resolveRelative(fromFile, spec) {
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [base, `${base}.js`, `${base}.mjs`, join(base, "index.js")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${relative(process.cwd(), fromFile)} imports ${spec}, which is not there`);
}

/**
 * Folders of the packages the deployed app loads (real paths): our own packages reached by
 * following imports from `entries`, and the dependency closure of every third-party package
 * they import (dependencies, optional dependencies and required peers; optional peers are left
 * out, as npm leaves them out).
 */
export function neededPackages(root, entries) {
  const needed = new Set([realpathSync(root)]);
  const files = entries.map((e) => join(root, e));
  const seenFiles = new Set();
  const thirdParty = [];
  while (files.length > 0) {
    const file = files.pop();
    if (seenFiles.has(file)) continue;
    seenFiles.add(file);
    for (const [spec, kind] of specifiersIn(file)) {
      if (isBuiltin(spec)) continue;
      if (spec.startsWith(".")) {
        files.push(resolveRelative(file, spec));
        continue;
      }
      const name = packageNameOf(spec);
      const pkgDir = findPackageDir(name, dirname(file), root);
      if (!pkgDir) {
        // Optional native dependencies (sodium-native) are required in a try/catch; imports must resolve.
        if (kind === "require" && !name.startsWith("@floodgate/")) continue;
        throw new Error(`${relative(root, file)} imports ${spec}, which is not installed`);
      }
      if (name.startsWith("@floodgate/")) {
        needed.add(pkgDir);
        files.push(resolveExport(pkgDir, spec, name));
      } else {
        thirdParty.push(pkgDir);
      }
    }
  }
  while (thirdParty.length > 0) {
    const pkgDir = thirdParty.pop();
    if (needed.has(pkgDir)) continue;
    needed.add(pkgDir);
    const m = readJson(join(pkgDir, "package.json"));
    const optionalPeers = new Set(Object.entries(m.peerDependenciesMeta ?? {}).filter(([, v]) => v?.optional).map(([k]) => k));
    const deps = [
      ...Object.keys(m.dependencies ?? {}),
      ...Object.keys(m.optionalDependencies ?? {}),
      ...Object.keys(m.peerDependencies ?? {}).filter((p) => !optionalPeers.has(p)),
    ];
    for (const dep of deps) {
      const depDir = findPackageDir(dep, pkgDir, root);
      if (depDir) thirdParty.push(depDir);
    }
  }
  return needed;
}

/** Removes symlinks whose target is gone, anywhere under `dir` (symlinks are not followed). */
function removeDanglingLinks(dir) {
  let removed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      if (!existsSync(path)) {
        rmSync(path);
        removed++;
      }
    } else if (entry.isDirectory()) {
      removed += removeDanglingLinks(path);
    }
  }
  return removed;
}

/** The package folders in pnpm's virtual store: `.pnpm/<key>/node_modules/<name>` (not symlinks). */
function storePackages(store) {
  const out = [];
  for (const key of readdirSync(store)) {
    const modules = join(store, key, "node_modules");
    if (key === "node_modules" || !existsSync(modules)) continue;
    for (const name of readdirSync(modules)) {
      const dirs = name.startsWith("@") ? readdirSync(join(modules, name)).map((n) => join(modules, name, n)) : [join(modules, name)];
      for (const dir of dirs) if (!lstatSync(dir).isSymbolicLink()) out.push({ key, dir });
    }
  }
  return out;
}

function sizeOf(path) {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of readdirSync(path)) total += sizeOf(join(path, name));
  return total;
}

/** Drops what the deployed app never loads from `root` (a `pnpm deploy` output). */
export function prune(root) {
  const manifest = readJson(join(root, "package.json"));
  const entries = entryFiles(manifest);
  for (const entry of entries) {
    if (!existsSync(join(root, entry))) throw new Error(`${entry} is missing from the deployed ${manifest.name}: run pnpm build first`);
  }
  const needed = neededPackages(root, entries);
  const store = join(root, "node_modules", ".pnpm");
  const keep = new Set();
  const all = storePackages(store);
  for (const { key, dir } of all) if (needed.has(realpathSync(dir))) keep.add(key);
  const dropped = new Set();
  for (const { key, dir } of all) {
    if (keep.has(key)) continue;
    dropped.add(readJson(join(dir, "package.json")).name);
    rmSync(join(store, key), { recursive: true, force: true });
  }
  removeDanglingLinks(join(root, "node_modules"));
  // Our packages' TypeScript sources: only the "@floodgate/source" condition (vitest, tsx)
  // points at them, so without them nothing in the folder can resolve to a .ts file.
  for (const dir of [realpathSync(root), ...needed]) {
    const m = readJson(join(dir, "package.json"));
    if (!m.name?.startsWith("@floodgate/")) continue;
    rmSync(join(dir, "src"), { recursive: true, force: true });
    rmSync(join(dir, "prisma.config.ts"), { force: true });
  }
  rmSync(join(root, "pnpm-workspace.yaml"), { force: true });
  return { entries, dropped: [...dropped].sort() };
}

/** Builds (unless `skipBuild`), deploys and prunes one app into `outDir`; returns a summary. */
export function deployApp(app, outDir, { skipBuild = false, quiet = false } = {}) {
  const spec = APPS[app];
  if (!spec) throw new Error(`unknown app "${app}": one of ${Object.keys(APPS).join(", ")}`);
  const target = resolve(outDir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new Error(`${target} is not empty`);
  const stdio = quiet ? ["ignore", "pipe", "pipe"] : "inherit";
  const run = (args) => {
    try {
      execFileSync("pnpm", args, { cwd: REPO_ROOT, stdio, env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" } });
    } catch (err) {
      throw new Error(`pnpm ${args.join(" ")} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`, { cause: err });
    }
  };
  if (!skipBuild) run(["exec", "turbo", "run", "build", `--filter=${spec.pkg}...`, "--output-logs=errors-only"]);
  run(["--filter", spec.pkg, "deploy", "--prod", "--reporter=append-only", target]);
  const { entries, dropped } = prune(target);
  const manifest = readJson(join(target, "package.json"));
  const summary = { app, package: spec.pkg, dir: target, entries, nodeFlags: startFlags(manifest), bytes: sizeOf(target), dropped };
  writeFileSync(join(target, "deploy.json"), JSON.stringify({ app, package: spec.pkg, entries, nodeFlags: summary.nodeFlags, leftOut: dropped }, null, 2) + "\n");
  return summary;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const skipBuild = args.includes("--skip-build");
  const [app, outDir] = args.filter((a) => !a.startsWith("--"));
  if (!app || !outDir) {
    console.error(`usage: pnpm deploy:app <${Object.keys(APPS).join("|")}> <dir> [--skip-build]`);
    process.exit(2);
  }
  try {
    const s = deployApp(app, outDir, { skipBuild });
    console.log(`== ${s.package} deployed to ${s.dir} (${(s.bytes / 2 ** 20).toFixed(1)} MiB)`);
    console.log(`   start: node ${[...s.nodeFlags, s.entries.find((e) => e.endsWith("main.js")) ?? s.entries[0]].join(" ")}`);
    if (s.dropped.length) console.log(`   left out ${s.dropped.length} packages it never loads (listed in deploy.json): ${s.dropped.slice(0, 8).join(", ")}, …`);
  } catch (err) {
    console.error(`deploy-app: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
