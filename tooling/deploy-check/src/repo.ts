import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is tooling/deploy-check/src/repo.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface WorkspacePackage {
  dir: string;
  manifest: {
    name: string;
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    bin?: string | Record<string, string>;
    scripts?: Record<string, string>;
  };
}

/** Every workspace package by name, from pnpm-workspace.yaml's folders (`apps/*`, `packages/*`, …). */
export function workspacePackages(): Map<string, WorkspacePackage> {
  const text = readFileSync(join(REPO_ROOT, "pnpm-workspace.yaml"), "utf8");
  const globs = [...text.matchAll(/^\s+-\s+(\S+)\/\*\s*$/gm)].map((m) => m[1] as string);
  const out = new Map<string, WorkspacePackage>();
  for (const glob of globs) {
    for (const name of readdirSync(join(REPO_ROOT, glob))) {
      const dir = join(REPO_ROOT, glob, name);
      const file = join(dir, "package.json");
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, "utf8")) as WorkspacePackage["manifest"];
      out.set(manifest.name, { dir, manifest });
    }
  }
  return out;
}

/** The NATS server version scripts/bootstrap.sh builds (`NATS_SERVER_VERSION=v2.15.2`). */
export function bootstrapNatsVersion(): string {
  const m = /^NATS_SERVER_VERSION=v(\d+\.\d+\.\d+)$/m.exec(readFileSync(join(REPO_ROOT, "scripts/bootstrap.sh"), "utf8"));
  if (!m) throw new Error("scripts/bootstrap.sh sets no NATS_SERVER_VERSION=vX.Y.Z");
  return m[1] as string;
}
