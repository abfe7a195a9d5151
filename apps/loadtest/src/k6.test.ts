/**
 * Keeps k6/webhook-load-test.js from going stale (k6 itself cannot run here): the script and
 * its helpers parse, the helpers' Resend signatures verify with Floodgate's own verifier, and a
 * freshly written corpus has the format the script reads, with Telnyx signatures that verify.
 */
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { createProviderRuntime } from "@floodgate/provider-kit";
import { resend } from "@floodgate/provider-resend";
import { telnyx } from "@floodgate/provider-telnyx";
import { describe, expect, it } from "vitest";
import { buildCorpus } from "./corpus.js";
import { REPO_ROOT } from "./harness/system.js";
import { createWebhookSigner, generateSigningSecrets } from "./webhooks.js";
// @ts-expect-error -- plain JavaScript shared with k6, no type declarations
import { RESEND_TYPES, decodeWhsec, readCorpus, resendBody, signResend } from "../../../k6/lib/webhooks.js";

const run = promisify(execFile);
const K6 = resolve(REPO_ROOT, "k6");

describe("k6 scenario", () => {
  it("parses (script and helpers)", async () => {
    for (const file of ["webhook-load-test.js", "lib/webhooks.js"]) {
      await expect(run(process.execPath, ["--check", resolve(K6, file)])).resolves.toBeDefined();
    }
  });

  it("signs Resend webhooks that Floodgate verifies and maps", async () => {
    const secrets = generateSigningSecrets();
    const runtime = createProviderRuntime(resend, { RESEND_WEBHOOK_SECRET: secrets.RESEND_WEBHOOK_SECRET });
    const key = decodeWhsec((s: string) => Buffer.from(s, "base64"), secrets.RESEND_WEBHOOK_SECRET);
    const hmac = (k: Buffer, text: string) => createHmac("sha256", k).update(text).digest("base64");
    const now = Date.now();
    for (const type of new Set(RESEND_TYPES as string[])) {
      const body = resendBody("k6-1", type, now) as string;
      const headers = signResend(hmac, key, "msg_k6_1", Math.floor(now / 1000), body) as Record<string, string>;
      const result = await runtime.handle({ body: Buffer.from(body), headers, url: "/webhooks/resend", method: "POST", now });
      expect(result).toMatchObject({ ok: true, id: "msg_k6_1" });
      expect(result.ok && result.events[0]!.providerMessageId).toBe("k6-1");
    }
    expect(() => decodeWhsec(() => Buffer.alloc(0), "nope")).toThrow(/whsec_/);
  });

  it("reads a fresh corpus whose Telnyx requests Floodgate verifies", async () => {
    const secrets = generateSigningSecrets();
    const corpus = buildCorpus(50, createWebhookSigner(secrets));
    const requests = readCorpus(JSON.stringify(corpus)) as typeof corpus.requests;
    expect(requests).toHaveLength(50);
    const runtime = createProviderRuntime(telnyx, { TELNYX_PUBLIC_KEY: secrets.TELNYX_PUBLIC_KEY });
    for (const r of requests) {
      const result = await runtime.handle({ body: Buffer.from(r.body), headers: r.headers, url: r.path, method: "POST", now: Date.parse(corpus.createdAt) + 299_000 });
      expect(result.ok).toBe(true);
    }
    expect(requests.some((r) => r.body.includes("message.finalized"))).toBe(true);
    expect(() => readCorpus('{"format":"other"}')).toThrow(/floodgate-k6-corpus/);
  });
});
