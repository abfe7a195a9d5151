import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { load, loadAll } from "js-yaml";
import { APPS, entryFiles, startFlags, type AppName } from "../../../scripts/deploy-app.mjs";
import { REPO_ROOT, workspacePackages } from "./repo.js";

export const DEPLOY_DIR = join(REPO_ROOT, "deploy");
export const KUBERNETES_DIR = join(DEPLOY_DIR, "kubernetes");

/** Each app's Dockerfile, relative to the repository root (the build context). */
export const DOCKERFILES: Record<AppName, string> = {
  gateway: "apps/gateway/Dockerfile",
  worker: "apps/worker/Dockerfile",
  migrate: "packages/db/Dockerfile",
};

/** The image name each app has in compose and Kubernetes. */
export const IMAGE_NAMES: Record<AppName, string> = {
  gateway: "floodgate-gateway",
  worker: "floodgate-worker",
  migrate: "floodgate-migrate",
};

export const appNames = Object.keys(APPS) as AppName[];

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** A Dockerfile's stages, with continuation lines joined, comments dropped and `${ARG}`s before the first FROM substituted. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && current === "")) continue;
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " ";
      continue;
    }
    logical.push((current + line).trim());
    current = "";
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    if (line === "") continue;
    const [, keyword = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const kw = keyword.toUpperCase();
    if (kw === "ARG" && stages.length === 0) {
      const [k, v = ""] = rest.split("=");
      args.set(k as string, v);
      continue;
    }
    if (kw === "FROM") {
      const expanded = rest.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string) => args.get((a ?? b) as string) ?? "");
      const [image = "", as, name] = expanded.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword: kw, args: rest });
  }
  return stages;
}

export function readDockerfile(app: AppName): Stage[] {
  return parseDockerfile(readFileSync(join(REPO_ROOT, DOCKERFILES[app]), "utf8"));
}

/** A CMD/ENTRYPOINT/HEALTHCHECK command in exec form (JSON array) or shell form (split on blanks). */
export function commandArgs(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith("[")) return JSON.parse(trimmed) as string[];
  return trimmed.split(/\s+/);
}

/** The value of each `KEY=value` (or `KEY value`) of an ENV instruction. */
export function envInstructionNames(args: string): string[] {
  if (!args.includes("=")) return [args.split(/\s+/)[0] as string];
  return [...args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1] as string);
}

function manifestOf(app: AppName) {
  const pkg = workspacePackages().get(APPS[app].pkg);
  if (!pkg) throw new Error(`no workspace package ${APPS[app].pkg}`);
  return pkg.manifest;
}

/** The files the deploy step starts an app from (its package.json's `bin` and `start`). */
export function deployEntries(app: AppName): string[] {
  return entryFiles(manifestOf(app));
}

/**
 * Problems with a command that starts `app`: it must be `node [flags…] <entry>`, the entry one
 * of the files the deploy step produces, the flags including those of the app's `start` script.
 */
export function commandProblems(app: AppName, argv: readonly string[], where: string): string[] {
  const problems: string[] = [];
  const [node, ...rest] = argv;
  const entry = rest.at(-1);
  const flags = rest.slice(0, -1);
  if (node !== "node") problems.push(`${where}: command must start with plain node, got ${JSON.stringify(argv)}`);
  if (!entry || !deployEntries(app).includes(entry)) {
    problems.push(`${where}: ${JSON.stringify(entry)} is not a file the ${app} deploy step starts from (${deployEntries(app).join(", ")})`);
  }
  for (const flag of flags) if (!flag.startsWith("--")) problems.push(`${where}: unexpected argument ${flag}`);
  for (const flag of startFlags(manifestOf(app))) {
    if (!flags.includes(flag)) problems.push(`${where}: missing ${flag} (from the ${app}'s start script)`);
  }
  return problems;
}

/** The entry file a command names (its last argument). */
export function commandEntry(argv: readonly string[]): string | undefined {
  return argv.at(-1);
}

export type Yaml = Record<string, unknown>;

export function readCompose(): Yaml {
  return load(readFileSync(join(DEPLOY_DIR, "compose.yml"), "utf8")) as Yaml;
}

export interface K8sObject {
  file: string;
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Yaml;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

/** Every object of every YAML file in deploy/kubernetes (multi-document files included). */
export function readKubernetes(): { objects: K8sObject[]; kustomization: Yaml; files: string[] } {
  const files = readdirSync(KUBERNETES_DIR).filter((f) => /\.ya?ml$/.test(f));
  const objects: K8sObject[] = [];
  let kustomization: Yaml = {};
  for (const file of files) {
    const docs = loadAll(readFileSync(join(KUBERNETES_DIR, file), "utf8")).filter((d) => d !== null && d !== undefined);
    if (file === "kustomization.yaml") {
      kustomization = docs[0] as Yaml;
      continue;
    }
    for (const doc of docs) objects.push({ ...(doc as K8sObject), file });
  }
  return { objects, kustomization, files };
}

/** `name:tag` with a version-like tag (no `latest`, no missing tag). */
export function pinnedImage(image: string): boolean {
  const tag = /:([^/:@]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== "latest" && /\d/.test(tag);
}

/** Major.minor.patch of an image tag like `2.15.2-alpine`. */
export function imageVersion(image: string): [number, number, number] | undefined {
  const m = /:v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(image);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** Settings of a nats-server config file that this test reads: `key: value` lines, anywhere. */
export function natsConfValue(conf: string, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key}\\s*[:=]\\s*(.+?)\\s*$`, "m").exec(conf.replace(/#.*$/gm, ""));
  return m?.[1]?.replace(/^"|"$/g, "");
}
