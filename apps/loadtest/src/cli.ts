#!/usr/bin/env node
/**
 * floodgate-loadtest: demo and load tooling.
 *
 *   keys                         print fresh signing secrets (KEY=value lines for .env)
 *   recipients [--batch ID] [--count N] [--provider telnyx|resend|twilio|vonage|plivo|sinch|
 *               bandwidth|sendgrid|postmark|mailgun|ses] [--recipients-per-message K]
 *                                insert a batch and N messages the way the sending side does;
 *                                with K > 1 each is a group send: K rows, one per address
 *   send telnyx --message-id ID [--to +1555…[,+1555…]] [--status delivered[,…]] [--event-id UUID]
 *                                (several numbers: one group webhook; one status for all or one each)
 *   send resend --message-id ID [--to a@b] [--type email.delivered] [--event-id msg_…]
 *   send <provider> --message-id ID [--to …] [--status <the provider's own status>] [--event-id …]
 *                                post one correctly signed webhook to the gateway (Twilio and
 *                                Plivo sign PUBLIC_URL + path: set PUBLIC_URL as the gateway has
 *                                it; SES needs a gateway started with src/sns-fetch-stub.mjs
 *                                preloaded, which serves the test certificate)
 *   show --batch ID              print the batch counters and its recipients
 *   run [--rate 500] [--messages 5000] [--telnyx 0.5 | --providers twilio,bandwidth,…] [--multi 0.05]
 *       [--duplicates 0.05] [--reorder 0.1] [--opens 0.3] [--burst 3] [--generators 1] [--warmup 2] [--json FILE]
 *                                load test: recipients first, then signed webhooks at a fixed
 *                                arrival rate (open model) from generator processes of their own,
 *                                after --warmup seconds of the same traffic that are not measured;
 *                                reports codes, latency, the generator's lateness, end to end,
 *                                and checks every acknowledged event was applied exactly once
 *   corpus --out FILE [--count N] [--providers telnyx,sendgrid,ses]
 *                                write pre-signed requests for k6 (see k6/README.md)
 *
 * Environment: DATABASE_URL, GATEWAY_URL (default http://127.0.0.1:3000), and the secrets from
 * `keys` (every provider's, and the private halves the generator signs with).
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { writeFile } from "node:fs/promises";
import { assertLoopback } from "./open-load.js";
import { formatReport, runLoad } from "./run.js";
import { buildCorpus, CORPUS_PROVIDERS } from "./corpus.js";
import {
  createWebhookSigner,
  generateSigningSecrets,
  isProviderName,
  PROVIDER_PROFILES,
  PROVIDERS,
  resendBody,
  signedRequest,
  telnyxBody,
  RESEND_TYPES,
  TELNYX_STATUSES,
  type ExtraProvider,
  type ProviderName,
  type ResendType,
  type SigningSecrets,
  type TelnyxStatus,
} from "./webhooks.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/floodgate";
const GATEWAY_URL = process.env.GATEWAY_URL ?? "http://127.0.0.1:3000";

function fail(message: string): never {
  console.error(`floodgate-loadtest: ${message}`);
  process.exit(2);
}

function requireSecret(name: "LOADTEST_TELNYX_PRIVATE_SEED" | "RESEND_WEBHOOK_SECRET"): string {
  const value = process.env[name];
  if (!value) fail(`${name} is not set (run \`floodgate-loadtest keys > .env\` and load it)`);
  return value;
}

async function withDb<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The addresses of a demo group send: K phone numbers or e-mail addresses. */
function groupAddresses(provider: ProviderName, k: number): string[] {
  const sms = provider === "telnyx" || (provider !== "resend" && PROVIDER_PROFILES[provider].channel === "sms");
  return Array.from({ length: k }, (_, i) => (sms ? `+1555555${String(100 + i).padStart(4, "0")}` : `user${i}@example.com`));
}

async function recipients(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: { batch: { type: "string" }, count: { type: "string", default: "5" }, provider: { type: "string", default: "telnyx" }, "recipients-per-message": { type: "string", default: "1" } },
  });
  const batch = values.batch ?? `demo-${Date.now()}`;
  const count = Number(values.count);
  const perMessage = Number(values["recipients-per-message"]);
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) fail("--count must be an integer from 1 to 1000000");
  if (!Number.isInteger(perMessage) || perMessage < 1 || perMessage > 100) fail("--recipients-per-message must be an integer from 1 to 100");
  if (!isProviderName(values.provider)) fail(`--provider must be one of ${PROVIDERS.join(", ")}`);
  const ids = Array.from({ length: count }, () => randomUUID());
  // A single send needs no address; a group send has one row per address (packages/db/README.md).
  const addresses = perMessage > 1 ? groupAddresses(values.provider, perMessage) : [null];
  await withDb(async (db) => {
    await db.query("INSERT INTO batches (id) VALUES ($1) ON CONFLICT DO NOTHING", [batch]);
    await db.query(
      `INSERT INTO recipients (id, batch_id, provider, provider_message_id, address)
       SELECT 'r-' || m || CASE WHEN a IS NULL THEN '' ELSE '-' || i END, $1, $2, m, a
         FROM unnest($3::text[]) AS m, unnest($4::text[]) WITH ORDINALITY AS x(a, i)`,
      [batch, values.provider, ids, addresses],
    );
  });
  console.log(JSON.stringify({ batch, provider: values.provider, providerMessageIds: ids, ...(perMessage > 1 ? { addresses } : {}) }, null, 2));
}

async function send(argv: string[]) {
  const provider = argv[0] ?? "";
  if (!isProviderName(provider)) fail(`send: provider must be one of ${PROVIDERS.join(", ")}`);
  const { values } = parseArgs({
    args: argv.slice(1),
    options: { "message-id": { type: "string" }, "event-id": { type: "string" }, to: { type: "string" }, status: { type: "string" }, type: { type: "string", default: "email.delivered" } },
  });
  const messageId = values["message-id"] ?? fail("--message-id is required");
  const url = assertLoopback(GATEWAY_URL);
  const signer = createWebhookSigner(process.env as Partial<SigningSecrets>);
  let request: { path: string; headers: Record<string, string>; body: string };
  try {
    if (provider === "telnyx") {
      const phones = (values.to ?? "+15555550100").split(",");
      const statuses = (values.status ?? "delivered").split(",");
      if (statuses.length !== 1 && statuses.length !== phones.length) fail("--status takes one status, or one per number in --to");
      for (const st of statuses) if (!TELNYX_STATUSES.includes(st as TelnyxStatus)) fail(`--status must be one of ${TELNYX_STATUSES.join(", ")}`);
      const to = phones.map((phone, i) => ({ phone, status: (statuses[i] ?? statuses[0]) as TelnyxStatus }));
      const body = telnyxBody({ eventId: values["event-id"], messageId, to });
      request = signedRequest(signer, "telnyx", body);
    } else if (provider === "resend") {
      if (!RESEND_TYPES.includes(values.type as ResendType)) fail(`--type must be one of ${RESEND_TYPES.join(", ")}`);
      const body = resendBody({ emailId: messageId, type: values.type as ResendType, to: values.to ?? "user@example.com" });
      request = signedRequest(signer, "resend", body, { deliveryId: values["event-id"] });
    } else {
      const profile = PROVIDER_PROFILES[provider as ExtraProvider];
      const status = values.status ?? (profile.steps.delivered as string);
      if (!profile.statuses.includes(status)) fail(`--status for ${provider} must be one of ${profile.statuses.join(", ")}`);
      const to = values.to ?? (profile.channel === "sms" ? "+15555550100" : "user@example.com");
      const built = profile.build({ messageId, to, status, ...(values["event-id"] ? { eventId: values["event-id"] } : {}) });
      request = signedRequest(signer, provider, built.body);
    }
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const res = await fetch(new URL(request.path, url), { method: "POST", headers: request.headers, body: request.body });
  console.log(`${res.status} ${await res.text()}`);
  if (!res.ok) process.exitCode = 1;
}

async function show(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { batch: { type: "string" } } });
  const batch = values.batch ?? fail("--batch is required");
  await withDb(async (db) => {
    const b = await db.query("SELECT * FROM batches WHERE id = $1", [batch]);
    if (b.rowCount === 0) fail(`no batch ${batch}`);
    const counters = Object.fromEntries(Object.entries(b.rows[0] as Record<string, unknown>).filter(([k, v]) => k.endsWith("_count") && v !== 0));
    console.log(`batch ${batch}:`, counters);
    const r = await db.query("SELECT provider_message_id, address, status, error_code, updated_at FROM recipients WHERE batch_id = $1 ORDER BY id LIMIT 50", [batch]);
    console.table(r.rows);
  });
}

function share(name: string, value: string | undefined, def: number): number {
  const n = value === undefined ? def : Number(value);
  if (!(n >= 0 && n <= 1)) fail(`--${name} must be a share between 0 and 1`);
  return n;
}

async function run(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: "string", default: "500" },
      messages: { type: "string", default: "5000" },
      telnyx: { type: "string" },
      providers: { type: "string" },
      multi: { type: "string" },
      duplicates: { type: "string" },
      reorder: { type: "string" },
      opens: { type: "string" },
      burst: { type: "string", default: "1" },
      generators: { type: "string", default: "1" },
      warmup: { type: "string", default: "2" },
      json: { type: "string" },
    },
  });
  const rate = Number(values.rate);
  const messages = Number(values.messages);
  const burst = Number(values.burst);
  if (!(rate > 0 && rate <= 100_000)) fail("--rate must be between 1 and 100000 per second");
  if (!Number.isInteger(messages) || messages < 1 || messages > 2_000_000) fail("--messages must be an integer from 1 to 2000000");
  if (!(burst >= 1 && burst <= 20)) fail("--burst must be a factor from 1 to 20");
  const generators = Number(values.generators);
  if (!Number.isInteger(generators) || generators < 1 || generators > 16) fail("--generators must be an integer from 1 to 16");
  const warmup = Number(values.warmup);
  if (!(warmup >= 0 && warmup <= 60)) fail("--warmup must be from 0 to 60 seconds");
  const providers = values.providers?.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  for (const p of providers ?? []) if (!isProviderName(p)) fail(`--providers: ${p} is not one of ${PROVIDERS.join(", ")}`);
  const report = await runLoad({
    gatewayUrl: assertLoopback(GATEWAY_URL).toString(),
    databaseUrl: DATABASE_URL,
    signer: providers
      ? createWebhookSigner(process.env as Partial<SigningSecrets>)
      : createWebhookSigner({ LOADTEST_TELNYX_PRIVATE_SEED: requireSecret("LOADTEST_TELNYX_PRIVATE_SEED"), RESEND_WEBHOOK_SECRET: requireSecret("RESEND_WEBHOOK_SECRET") }),
    ...(providers ? { providers: providers as ProviderName[] } : {}),
    rate,
    messages,
    telnyxShare: share("telnyx", values.telnyx, 0.5),
    multiRecipientShare: share("multi", values.multi, 0.05),
    duplicateShare: share("duplicates", values.duplicates, 0.05),
    reorderShare: share("reorder", values.reorder, 0.1),
    openShare: share("opens", values.opens, 0.3),
    burstFactor: burst,
    generators,
    warmupSeconds: warmup,
    onProgress: (line) => console.error(line),
  });
  console.log(formatReport(report));
  if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2));
  if (!report.correctness.ok) process.exitCode = 1;
}

async function corpus(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { out: { type: "string" }, count: { type: "string", default: "20000" }, providers: { type: "string", default: "telnyx" } } });
  const out = values.out ?? fail("--out is required");
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) fail("--count must be an integer from 1 to 1000000");
  const providers = values.providers.split(",").map((p) => p.trim());
  for (const p of providers) if (!(CORPUS_PROVIDERS as readonly string[]).includes(p)) fail(`--providers: the corpus holds ${CORPUS_PROVIDERS.join(", ")} (k6 signs the others itself)`);
  let c;
  try {
    c = buildCorpus(count, createWebhookSigner(process.env as Partial<SigningSecrets>), Date.now(), providers as ProviderName[]);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  await writeFile(out, JSON.stringify(c));
  console.log(`wrote ${c.requests.length} signed requests (${providers.join(", ")}) to ${out}, valid until ${c.validUntil}`);
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case "keys": {
    for (const [k, v] of Object.entries(generateSigningSecrets())) console.log(`${k}=${v}`);
    break;
  }
  case "recipients":
    await recipients(rest);
    break;
  case "send":
    await send(rest);
    break;
  case "show":
    await show(rest);
    break;
  case "run":
    await run(rest);
    break;
  case "corpus":
    await corpus(rest);
    break;
  default:
    console.error(`usage: floodgate-loadtest keys | recipients | send ${PROVIDERS.join("|")} | show | run | corpus   (see the header of src/cli.ts)`);
    process.exit(command ? 2 : 0);
}
