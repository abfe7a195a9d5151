/**
 * Keeps k6/webhook-load-test.js from going stale (k6 itself cannot run here): the script and
 * its helpers parse, the helpers' Resend signatures verify with Floodgate's own verifier, and a
 * freshly written corpus has the format the script reads, with Telnyx signatures that verify.
 */
import { execFile } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { createProviderRuntime } from "@floodgate/provider-kit";
import { createSnsTestFetch } from "@floodgate/provider-kit/signing";
import { bandwidth } from "@floodgate/provider-bandwidth";
import { mailgun } from "@floodgate/provider-mailgun";
import { plivo } from "@floodgate/provider-plivo";
import { postmark } from "@floodgate/provider-postmark";
import { sendgrid } from "@floodgate/provider-sendgrid";
import { ses } from "@floodgate/provider-ses";
import { sinch } from "@floodgate/provider-sinch";
import { twilio } from "@floodgate/provider-twilio";
import { vonage } from "@floodgate/provider-vonage";
import { resend } from "@floodgate/provider-resend";
import { telnyx } from "@floodgate/provider-telnyx";
import { describe, expect, it } from "vitest";
import { buildCorpus } from "./corpus.js";
import { REPO_ROOT } from "./harness/system.js";
import { createWebhookSigner, generateSigningSecrets } from "./webhooks.js";
// @ts-expect-error -- plain JavaScript shared with k6, no type declarations
import { RESEND_TYPES, SIGNED_HERE, bandwidthRequest, decodeWhsec, mailgunRequest, plivoRequest, postmarkRequest, readCorpus, resendBody, signResend, sinchRequest, twilioRequest, vonageRequest } from "../../../k6/lib/webhooks.js";

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

describe("k6 scenario: the other providers", () => {
  const secrets = generateSigningSecrets();
  const env: Record<string, string> = { ...secrets };
  const hmac = (algorithm: string, key: string, data: string, encoding: "hex" | "base64") => createHmac(algorithm, key).update(data).digest(encoding);
  const md5 = (data: string) => createHash("md5").update(data).digest("hex");
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const now = Date.now();
  const ts = Math.floor(now / 1000);
  type K6Request = { provider: string; path: string; headers: Record<string, string>; body: string };
  const handle = async (definition: Parameters<typeof createProviderRuntime>[0], r: K6Request) =>
    createProviderRuntime(definition, env, { fetch: createSnsTestFetch([{ url: secrets.LOADTEST_SNS_CERT_URL, pem: Buffer.from(secrets.LOADTEST_SNS_CERT_PEM, "base64").toString(), privateKey: undefined as never, region: "us-east-1" }]).fetch }).handle({
      body: Buffer.from(r.body),
      headers: r.headers,
      url: r.path,
      method: "POST",
      now,
    });

  it("lists what it signs itself", () => {
    expect(SIGNED_HERE).toEqual(["resend", "twilio", "plivo", "vonage", "sinch", "bandwidth", "postmark", "mailgun"]);
  });

  it.each([
    ["twilio", twilio, () => twilioRequest(hmac, secrets.PUBLIC_URL, secrets.TWILIO_AUTH_TOKEN, "SM0123", "+15555550100", "delivered")],
    ["plivo", plivo, () => plivoRequest(hmac, secrets.PUBLIC_URL, secrets.PLIVO_AUTH_TOKEN, "1234567", "uuid-1", "14155550100", "delivered")],
    ["vonage (sha256)", vonage, () => vonageRequest(hmac, md5, secrets.VONAGE_SIGNATURE_SECRET, "sha256", "n1", ts, "0B01", "447700900000", "delivered")],
    ["sinch", sinch, () => sinchRequest(hmac, secrets.SINCH_WEBHOOK_SECRET, "n2", ts, "batch-1", "15551231234", "Delivered")],
    ["bandwidth", bandwidth, () => bandwidthRequest(b64, secrets.BANDWIDTH_WEBHOOK_USERNAME, secrets.BANDWIDTH_WEBHOOK_PASSWORD, "m-1", "+15555550100", "message-delivered", now)],
    ["postmark", postmark, () => postmarkRequest(b64, secrets.POSTMARK_WEBHOOK_USERNAME, secrets.POSTMARK_WEBHOOK_PASSWORD, "m-2", "user@example.com", now)],
    ["mailgun", mailgun, () => mailgunRequest(hmac, secrets.MAILGUN_WEBHOOK_SIGNING_KEY, "tok-1", ts, "ev-1", "m-3@mg.example.com", "user@example.com", "delivered")],
  ] as const)("signs %s requests that Floodgate verifies and maps", async (_name, definition, make) => {
    const r = make() as K6Request;
    expect(await handle(definition, r)).toMatchObject({ ok: true, events: [{ status: "delivered" }] });
  });

  it("vonage md5hash as well", async () => {
    const r = vonageRequest(hmac, md5, secrets.VONAGE_SIGNATURE_SECRET, "md5hash", "n3", ts, "0B02", "447700900000", "delivered") as K6Request;
    env.VONAGE_SIGNATURE_METHOD = "md5hash";
    try {
      expect(await handle(vonage, r)).toMatchObject({ ok: true });
    } finally {
      env.VONAGE_SIGNATURE_METHOD = secrets.VONAGE_SIGNATURE_METHOD;
    }
  });

  it("a corpus of SendGrid and SES requests (k6 has no ECDSA or RSA) verifies", async () => {
    const corpus = buildCorpus(5, createWebhookSigner(secrets), now, ["telnyx", "sendgrid", "ses"]);
    const requests = readCorpus(JSON.stringify(corpus)) as typeof corpus.requests;
    expect(new Set(requests.map((r) => r.provider))).toEqual(new Set(["telnyx", "sendgrid", "ses"]));
    for (const r of requests.filter((x) => x.provider !== "telnyx")) {
      expect(await handle(r.provider === "ses" ? ses : sendgrid, { ...r }), r.provider).toMatchObject({ ok: true });
    }
  });
});
