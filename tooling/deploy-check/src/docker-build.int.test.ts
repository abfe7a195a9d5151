/**
 * No Docker engine runs here, so the images' build stage is replayed by hand: the build context is
 * copied the way `docker build` sends it (the working tree minus .dockerignore's patterns: no
 * .git, no node_modules, no dist, no Prisma client), and the build stage's instructions of every
 * Dockerfile run in it (WORKDIR, COPY . ., RUN), with the stage's folders mapped to temporary
 * ones. The folder each final stage copies must then hold the file its CMD starts. This catches a
 * build that needs something the context lacks (git for turbo, an ignored folder, a prebuilt file).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appNames, commandArgs, DOCKERFILES, readDockerfile } from "./deploy-files.js";
import { REPO_ROOT } from "./repo.js";

/** .dockerignore's patterns as regular expressions over context-relative paths. */
function dockerignoreMatchers(text: string): RegExp[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((pattern) => {
      if (pattern.startsWith("!")) throw new Error(`exceptions (${pattern}) are not handled by this test`);
      const body = pattern
        .replace(/^\/+|\/+$/g, "")
        .split("/")
        .map((part) => (part === "**" ? "@@GLOBSTAR@@" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
        .join("/")
        .replace(/@@GLOBSTAR@@\//g, "(?:.*/)?")
        .replace(/@@GLOBSTAR@@/g, ".*");
      return new RegExp(`^${body}$`);
    });
}

/** Copies the working tree into `to` as `docker build` would send it: an ignored folder is skipped whole. */
function copyContext(from: string, to: string, ignore: RegExp[]): number {
  let files = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(from, path);
      if (ignore.some((re) => re.test(rel))) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        mkdirSync(dirname(join(to, rel)), { recursive: true });
        copyFileSync(path, join(to, rel));
        files++;
      }
    }
  };
  walk(from);
  return files;
}

const work = mkdtempSync(join(tmpdir(), "fg-docker-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the Dockerfiles' build stage, replayed on the build context", () => {
  it("the context leaves out installs, builds and secrets", () => {
    const ignore = dockerignoreMatchers(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8"));
    for (const path of ["node_modules", "apps/gateway/node_modules", "apps/gateway/dist", "packages/db/generated", ".git", ".env", ".tools", "x/.turbo"]) {
      expect(ignore.some((re) => re.test(path)), path).toBe(true);
    }
    for (const path of ["apps/gateway/src/main.ts", "pnpm-lock.yaml", "scripts/deploy-app.mjs", "packages/db/prisma/schema.prisma"]) {
      expect(ignore.some((re) => re.test(path)), path).toBe(false);
    }
  });

  it("installs, builds and deploys every app from the context alone; each final stage gets the file its CMD starts", () => {
    const context = join(work, "context");
    const ignore = dockerignoreMatchers(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8"));
    expect(copyContext(REPO_ROOT, context, ignore)).toBeGreaterThan(100);
    expect(existsSync(join(context, "node_modules"))).toBe(false);

    const done = new Set<string>();
    let firstWorkdir: string | undefined;
    for (const app of appNames) {
      // Each image's absolute folders, mapped into a folder of its own; the installed workdir is
      // shared (every Dockerfile's stage runs the same install, replayed once).
      const mapped = (path: string) => join(work, app, path);
      const stages = readDockerfile(app);
      const final = stages.at(-1);
      const build = stages.find((s) => s.name && final?.instructions.some((i) => i.keyword === "COPY" && i.args.includes(`--from=${s.name}`)));
      expect(build, DOCKERFILES[app]).toBeDefined();
      let cwd = "/";
      let out: string | undefined;
      for (const { keyword, args } of build?.instructions ?? []) {
        if (keyword === "WORKDIR") {
          cwd = args.trim();
          mkdirSync(dirname(mapped(cwd)), { recursive: true });
          if (firstWorkdir && !existsSync(mapped(cwd))) symlinkSync(firstWorkdir, mapped(cwd));
          mkdirSync(mapped(cwd), { recursive: true });
          firstWorkdir ??= mapped(cwd);
        } else if (keyword === "COPY") {
          expect(args.trim(), `${DOCKERFILES[app]}: only the whole context is copied`).toBe(". .");
          if (!existsSync(join(mapped(cwd), "package.json"))) copyContext(context, mapped(cwd), []);
        } else if (keyword === "RUN") {
          const pnpm = /^npm install -g pnpm@(\S+)$/.exec(args.trim());
          if (pnpm) {
            // The machine's pnpm is the one the image installs.
            expect(execFileSync("pnpm", ["-v"], { encoding: "utf8" }).trim()).toBe(pnpm[1]);
            continue;
          }
          if (done.has(`${cwd}\n${args}`)) continue;
          done.add(`${cwd}\n${args}`);
          const command = args.replace(/(\s)(\/[\w/-]+)/g, (_m, space: string, path: string) => `${space}${mapped(path)}`);
          execFileSync("/bin/sh", ["-c", command], { cwd: mapped(cwd), stdio: "pipe", timeout: 600_000, env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" } });
          out = /deploy:app \S+ (\/\S+)/.exec(args)?.[1] ?? out;
        } else if (keyword !== "ENV" && keyword !== "ARG") {
          throw new Error(`${DOCKERFILES[app]}: build-stage instruction ${keyword} is not replayed by this test`);
        }
      }
      expect(out, `${DOCKERFILES[app]}: the build stage deploys into a folder`).toBeDefined();
      const copy = final?.instructions.find((i) => i.keyword === "COPY" && i.args.includes("--from="));
      expect(copy?.args.split(/\s+/).slice(-2)[0], `${DOCKERFILES[app]}: the final stage copies the deploy folder`).toBe(out);
      const cmd = commandArgs(final?.instructions.filter((i) => i.keyword === "CMD").at(-1)?.args ?? "[]");
      const entry = join(mapped(out as string), cmd.at(-1) as string);
      expect(existsSync(entry) && statSync(entry).isFile(), `${DOCKERFILES[app]}: ${cmd.at(-1)} in ${out}`).toBe(true);
      expect(JSON.parse(readFileSync(join(mapped(out as string), "package.json"), "utf8")).type).toBe("module");
    }
  }, 900_000);
});
