#!/usr/bin/env node
// Creates packages/providers/<name> from tooling/templates/provider. Runs nothing else:
// afterwards run `pnpm install` yourself and add the printed line to the gateway.
//
//   pnpm new:provider <name> [--dest <providers dir>]
//
// --dest (or FLOODGATE_PROVIDERS_DIR) changes the parent folder; the tests use it.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const templateDir = join(root, "tooling/templates/provider");
const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const RESERVED = new Set(["kit", "provider-kit", "template", "test", "testing", "node-modules"]);

function fail(message) {
  console.error(`new-provider: ${message}`);
  process.exit(1);
}

export function validateName(name) {
  if (typeof name !== "string" || name.length === 0) return "usage: pnpm new:provider <name>";
  if (name.length > 40) return `name "${name}" is longer than 40 characters`;
  if (!NAME.test(name)) return `name "${name}" must be lower-case letters, digits and single hyphens, starting with a letter (e.g. "sendgrid", "aws-ses")`;
  if (RESERVED.has(name)) return `name "${name}" is reserved`;
  return undefined;
}

function words(name) {
  return name.split("-");
}

export function placeholders(name) {
  const parts = words(name);
  const pascal = parts.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  return {
    __NAME__: name,
    __PASCAL__: pascal,
    __CAMEL__: pascal[0].toLowerCase() + pascal.slice(1),
    __UPPER__: parts.join("_").toUpperCase(),
    __ENV__: `${parts.join("_").toUpperCase()}_WEBHOOK_SECRET`,
  };
}

function listTemplate(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listTemplate(path, base) : [relative(base, path)];
  });
}

function render(text, values) {
  // __ENV__ before __UPPER__ is irrelevant (no overlap), but longest-first keeps it safe anyway.
  let out = text;
  for (const key of Object.keys(values).sort((a, b) => b.length - a.length)) out = out.split(key).join(values[key]);
  return out;
}

function main(argv) {
  const args = [...argv];
  let dest = process.env.FLOODGATE_PROVIDERS_DIR ?? join(root, "packages/providers");
  const destFlag = args.indexOf("--dest");
  if (destFlag !== -1) {
    dest = resolve(args[destFlag + 1] ?? fail("--dest needs a folder"));
    args.splice(destFlag, 2);
  }
  if (args.length !== 1) fail("usage: pnpm new:provider <name> [--dest <providers dir>]");
  const name = args[0];
  const problem = validateName(name);
  if (problem !== undefined) fail(problem);

  const target = join(dest, name);
  if (existsSync(target)) fail(`${relative(process.cwd(), target) || target} already exists; refusing to overwrite`);
  const values = placeholders(name);

  const files = listTemplate(templateDir).filter((f) => f.endsWith(".tmpl"));
  for (const file of files) {
    const out = join(target, file.slice(0, -".tmpl".length));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, render(readFileSync(join(templateDir, file), "utf8"), values));
  }

  const pkg = `@floodgate/provider-${name}`;
  console.log(`Created ${pkg} in ${relative(process.cwd(), target) || target} (${files.length} files).

Next:
  1. pnpm install            (links the new workspace package)
  2. pick the scheme in src/provider.ts (docs/adding-a-provider.md lists them by shape),
     edit src/extract.ts and fixtures/*.json to the provider's real payloads, README.md to
     its status table and console set-up, then
     pnpm --filter ${pkg} test
  3. add it to apps/gateway/src/providers.ts:
       import { ${values.__CAMEL__} } from "${pkg}";
     and append ${values.__CAMEL__} to the providers array there;
     and "${pkg}": "workspace:*" to apps/gateway/package.json dependencies
  4. set ${values.__ENV__} in the gateway's environment`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
