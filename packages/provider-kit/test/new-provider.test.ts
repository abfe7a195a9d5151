// Tests tooling/scripts/new-provider.mjs. It lives here because the template is built on
// provider-kit's contract: a change to the contract that breaks the template fails this
// package. The full check (generate, install, build/test/typecheck/lint the result) is manual,
// see docs/adding-a-provider.md.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixtures } from "../src/testing/fixtures.js";

const root = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const script = join(root, "tooling/scripts/new-provider.mjs");
const dest = mkdtempSync(join(tmpdir(), "floodgate-new-provider-"));
afterAll(() => rmSync(dest, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args, "--dest", dest], { encoding: "utf8" });

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)],
  );
}

describe("new-provider generator", () => {
  it("creates a complete package with every placeholder filled, and prints the gateway line", () => {
    const result = run("acme-mail");
    expect(result.status).toBe(0);
    const pkgDir = join(dest, "acme-mail");
    expect(files(pkgDir).sort()).toEqual([
      "README.md",
      "eslint.config.js",
      "fixtures/message-delivered.json",
      "fixtures/message-unknown-type.json",
      "package.json",
      "src/extract.ts",
      "src/index.ts",
      "src/provider.test.ts",
      "src/provider.ts",
      "tsconfig.json",
      "vitest.config.js",
    ]);
    for (const file of files(pkgDir)) expect(readFileSync(join(pkgDir, file), "utf8"), file).not.toMatch(/__[A-Z]+__/);
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    expect(pkg.name).toBe("@floodgate/provider-acme-mail");
    expect(pkg.scripts).toEqual(JSON.parse(readFileSync(join(root, "packages/providers/telnyx/package.json"), "utf8")).scripts);
    const provider = readFileSync(join(pkgDir, "src/provider.ts"), "utf8");
    expect(provider).toContain('id: "acme-mail"');
    expect(provider).toContain("export const acmeMail = defineProvider<AcmeMailConfig>");
    expect(provider).toContain("ACME_MAIL_WEBHOOK_SECRET: envList(checkStandardWebhooksSecret)");
    const fixtures = loadFixtures(join(pkgDir, "fixtures"));
    expect(fixtures[0]?.expected).toMatchObject({ ok: true, events: [{ provider: "acme-mail" }] });
    expect(result.stdout).toContain('import { acmeMail } from "@floodgate/provider-acme-mail";');
    expect(result.stdout).toContain("append acmeMail to the providers array");
    expect(result.stdout).toContain("ACME_MAIL_WEBHOOK_SECRET");
  });

  it("refuses to overwrite an existing package", () => {
    expect(run("twice").status).toBe(0);
    const second = run("twice");
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/already exists; refusing to overwrite/);
  });

  it.each(["", "Acme", "1acme", "acme_mail", "acme--mail", "-acme", "acme-", "a/b", "../x", "kit", "x".repeat(41)])("rejects the name %j", (name) => {
    const before = readdirSync(dest).sort();
    const result = run(name);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^new-provider: /);
    expect(readdirSync(dest).sort()).toEqual(before);
    expect(existsSync(join(dest, "..", "x"))).toBe(false);
  });
});
