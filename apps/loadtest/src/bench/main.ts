/**
 * `pnpm bench`: the design's figures, each measured next to this machine's own limit in the same
 * run, on loopback. Writes .bench/results.json and .bench/results.md and prints the table.
 *
 * Knobs: BENCH_SECONDS (5) per throughput run; BENCH_E2E_RATE (5000) and BENCH_E2E_SECONDS (60)
 * for the sustained end-to-end run; BENCH_WORKER_EVENTS (50000) for the worker run;
 * BENCH_ROUNDS (3) runs behind every ratio (the median is shown); BENCH_GENERATORS (1) generator
 * processes sharing each open-model schedule (the latency run, the sustained run, the capacity
 * steps); BENCH_WARMUP_SECONDS (5) of unmeasured traffic before the sustained run and each
 * capacity step; BENCH_CAPACITY_* (see capacity.ts); BENCH_WORKERS_EVENTS and BENCH_WORKER_COUNTS (see workers.ts);
 * BENCH_ONLY=gateway,schemes,worker,statements,workers,e2e,storage,capacity,durability to run
 * some sections only.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { defaultEd25519Backend, nodeCryptoBackend, sodiumBackend, type Ed25519Backend } from "@floodgate/provider-kit";
import { connectQueue, createPublisher, ensureStream, subjectFor } from "@floodgate/queue";
import { deleteStream, natsUrl, uniqueQueueConfig } from "@floodgate/queue/testing";
import { freePort, startProcess, waitFor } from "../harness/processes.js";
import { REPO_ROOT, startSystem, type System } from "../harness/system.js";
import { runOpenLoadSpread } from "../load-processes.js";
import { MAX_LATENESS_MS, type LoadRequest } from "../open-load.js";
import { otherAnswers, runLoad } from "../run.js";
import { planTraffic, type PlannedWebhook } from "../traffic.js";
import { createProviderRuntime, type ProviderDefinition, type VerifyRequest } from "@floodgate/provider-kit";
import { createSnsTestFetch, signJwtHs256, vonageJwtClaims } from "@floodgate/provider-kit/signing";
import { bandwidth } from "@floodgate/provider-bandwidth";
import { resend } from "@floodgate/provider-resend";
import { sendgrid } from "@floodgate/provider-sendgrid";
import { ses } from "@floodgate/provider-ses";
import { twilio } from "@floodgate/provider-twilio";
import { vonage } from "@floodgate/provider-vonage";
import { createWebhookSigner, extraGatewayEnv, generateSigningSecrets, PROVIDER_PROFILES, signedRequest, SNS_FETCH_STUB, type SignedRequest } from "../webhooks.js";
import { appliedCount, GROUP, insertRecipients, publishBacklog, rawUpdateRate } from "./backlog.js";
import { procStats, sampleRss } from "./proc.js";
import { add, figures, log, markdown, round } from "./figures.js";
import { sendQueuedMix, SUSTAINED_MIX } from "./mix.js";
import { statementFigures } from "./statements.js";
import { workerScaleFigures } from "./workers.js";
import { runWrk, writeRequests, type WrkResult } from "./wrk.js";
import { bucketsBetween, histogramQuantile, median, readBuckets, readValue } from "./latency.js";
import { machineBetween, readMachine } from "./machine.js";
import { capacityFigures } from "./capacity.js";
import { durabilityFigures } from "./durability.js";

const exec = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const E2E_RATE = Number(process.env.BENCH_E2E_RATE ?? 5000);
const E2E_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 60);
const WORKER_EVENTS = Number(process.env.BENCH_WORKER_EVENTS ?? 50_000);
const OUT = resolve(REPO_ROOT, ".bench");
/** Generator processes sharing the schedule of an open-model run (none carries the bench's heap). */
const GENERATORS = Number(process.env.BENCH_GENERATORS ?? 1);
/** Seconds of unmeasured traffic before the sustained run and each capacity step (a fresh system's first moments are not its steady state). */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
/** Runs behind every ratio in the table (the median is shown). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const secrets = generateSigningSecrets();
const signer = createWebhookSigner(secrets);

async function ensureWrk(): Promise<void> {
  try {
    await exec("which", ["wrk"]);
  } catch {
    log("installing wrk (Debian package)");
    await exec("bash", ["-c", "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)"]);
  }
}

const BARE_SERVER = `
import { createServer } from "node:http";
const server = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json", "content-length": 2 }); res.end("{}"); });
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.argv[2]), "127.0.0.1");
`;

/** Signed raw requests for wrk: every one a distinct delivery, so each really reaches JetStream. */
function signed(webhooks: PlannedWebhook[]) {
  return webhooks.map((w) => ({
    path: `/webhooks/${w.provider}`,
    headers: w.provider === "telnyx" ? signer.telnyx(w.body) : signer.resend(w.body, w.deliveryId),
    body: w.body,
  }));
}

/** Single-core Ed25519 verifications per second for a Telnyx-sized payload. */
function ed25519PerSecond(backend: Ed25519Backend, webhook: PlannedWebhook): number {
  const headers = signer.telnyx(webhook.body);
  const signature = Buffer.from(headers["telnyx-signature-ed25519"]!, "base64");
  const message = Buffer.from(`${headers["telnyx-timestamp"]}|${webhook.body}`);
  const key = backend.importKey(Buffer.from(secrets.TELNYX_PUBLIC_KEY, "base64"));
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < 1500) {
    for (let i = 0; i < 100; i++) backend.verify(signature, message, key);
    n += 100;
  }
  return n / ((performance.now() - started) / 1000);
}

async function withSystem<T>(options: Parameters<typeof startSystem>[0], fn: (s: System) => Promise<T>): Promise<T> {
  const s = await startSystem({ secrets, ...options });
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

/** Bare node:http reading the body and answering 200, in a process of its own. */
async function startBare(dir: string): Promise<{ url: string; host: string; stop(): Promise<unknown> }> {
  const port = await freePort();
  await writeFile(join(dir, "bare.mjs"), BARE_SERVER);
  const bare = startProcess("bare", process.execPath, [join(dir, "bare.mjs"), String(port)]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("bare server", async () => (await fetch(`${url}/`, { method: "POST", body: "{}" }).then((r) => r.ok).catch(() => false)), 10_000);
  return { url, host: `127.0.0.1:${port}`, stop: () => bare.stop() };
}

/** Bare node:http's throughput (median of the runs so far), measured once if no section did. */
const bareRuns: number[] = [];
async function bareRps(dir: string): Promise<number> {
  if (bareRuns.length === 0) {
    const bare = await startBare(dir);
    try {
      const reqs = signed(planTraffic({ messages: 10_000, telnyxShare: 0, multiRecipientShare: 0, duplicateShare: 0, reorderShare: 0, openShare: 0 }).webhooks);
      bareRuns.push((await runWrk(bare.url, await writeRequests(dir, "bare", bare.host, reqs), dir, { seconds: SECONDS })).rps);
    } finally {
      await bare.stop();
    }
  }
  return median(bareRuns);
}

/** The gateway's /metrics page now. */
async function gatewayMetrics(s: System): Promise<string> {
  return (await fetch(s.metricsUrl)).text();
}

/** The gateway's `webhook_response_duration_seconds` buckets on a /metrics page (summed over providers and codes). */
const responseBuckets = (page: string) => readBuckets(page, "webhook_response_duration_seconds");

/**
 * Why the gateway's own latency is what it is, between two /metrics pages and two machine
 * readings: its event loop's delay p99 and max (prom-client resets them at every scrape, so the
 * second page covers the run), its GC time, how busy the machine's cores were, and SYNs dropped.
 */
function gatewayContext(before: string, after: string, machine: ReturnType<typeof machineBetween>, seconds: number): string {
  const ms = (v: number | undefined) => (v === undefined ? "n/a" : `${round(v * 1000)} ms`);
  const gc = (readValue(after, "nodejs_gc_duration_seconds_sum") ?? 0) - (readValue(before, "nodejs_gc_duration_seconds_sum") ?? 0);
  return [
    `event-loop delay p99 ${ms(readValue(after, "nodejs_eventloop_lag_p99_seconds"))}, max ${ms(readValue(after, "nodejs_eventloop_lag_max_seconds"))}`,
    `GC ${round((gc / seconds) * 1000)} ms per s`,
    `machine busy ${machine.busyCores.toFixed(2)} of ${machine.cores} cores`,
    `${machine.listenOverflows} SYNs dropped on full listen queues`,
  ].join("; ");
}

/**
 * The gateway and the machine over one run: `start()` takes the readings before it, `finish()`
 * the ones after, and gives the gateway's own p99 (seconds; undefined when it answered nothing)
 * with {@link gatewayContext} for the run's `seconds`.
 */
function gatewayWindow(s: System) {
  let before = "";
  let machineBefore = readMachine();
  return {
    async start(): Promise<void> {
      before = await gatewayMetrics(s);
      machineBefore = readMachine();
    },
    async finish(seconds: number): Promise<{ p99: number | undefined; context: string }> {
      const machine = machineBetween(machineBefore, readMachine());
      const after = await gatewayMetrics(s);
      const p99 = histogramQuantile(bucketsBetween(responseBuckets(before), responseBuckets(after)), 0.99);
      return { p99, context: gatewayContext(before, after, machine, seconds) };
    },
  };
}

/**
 * One open-model run against the gateway with both sides of its latency: the client's (first
 * byte written → last byte read), the gateway's own histogram over the same run, and the
 * generator's lateness; a client latency is claimed as the gateway's only if the generator kept
 * its schedule.
 */
async function latencyFigures(s: System, section: string, rate: number, label: string, makeRequest: (i: number) => LoadRequest, total: number): Promise<void> {
  const gateway = gatewayWindow(s);
  await gateway.start();
  const open = await runOpenLoadSpread({ target: s.gatewayUrl, rate, total, makeRequest, processes: GENERATORS });
  const { p99: serverP99, context } = await gateway.finish(open.durationMs / 1000);
  const late = open.lateness;
  const trusted = open.onTime;
  const behind = trusted ? "" : ` — the generator fell behind (lateness p99 ${round(late.p99)} ms > ${MAX_LATENESS_MS} ms): not the gateway's latency`;
  const claim = trusted ? "" : " (NOT the gateway's: the generator fell behind)";
  add({ section, figure: `Gateway response p99 at ${rate} req/s (${label}), client side: first byte written → last byte read${claim}`, value: open.latency.p99, unit: "ms", goal: "< 100 ms", met: trusted && open.latency.p99 < 100, note: `p50 ${round(open.latency.p50)} ms, max ${round(open.latency.max)} ms, ${open.ok}/${open.sent} 2xx, ${open.connections} connections${behind}` });
  add({ section, figure: `Gateway's own p99 in the same run (webhook_response_duration_seconds, after − before)`, value: (serverP99 ?? Number.NaN) * 1000, unit: "ms", goal: "< 25 ms", met: serverP99 !== undefined && serverP99 * 1000 < 25, note: `request parsed → answer written; excludes time in the socket and accept queues; ${context}` });
  add({ section, figure: `Generator lateness in the same run (first byte written − scheduled arrival), p99`, value: late.p99, unit: "ms", goal: `≤ ${MAX_LATENESS_MS} ms (else no latency is claimed)`, met: trusted, note: `p50 ${round(late.p50)} ms, max ${round(late.max)} ms; ${GENERATORS} generator processes used ${open.cpuCores.toFixed(2)} of a core` });
}

/** JetStream publishes (100 B, 256 in flight) per CPU second of this process, with or without the client's async stack traces. */
async function publishesPerCpuSecond(asyncTraces: boolean, n = 20_000): Promise<number> {
  const q = await connectQueue({ servers: natsUrl, name: "floodgate-bench-traces", connectionOptions: { noAsyncTraces: !asyncTraces } });
  const cfg = uniqueQueueConfig();
  try {
    await ensureStream(q.jsm, cfg);
    const publisher = createPublisher(q, { timeoutMs: 30_000, maxInFlight: 256 });
    const subject = subjectFor(cfg.subjectPrefix, "resend", "email.delivered");
    const payload = new Uint8Array(100);
    const cpu = process.cpuUsage();
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      inFlight.push(publisher.publish(subject, payload, `t${i}`));
      if (inFlight.length >= 256) await Promise.all(inFlight.splice(0));
    }
    await Promise.all(inFlight);
    const used = process.cpuUsage(cpu);
    return n / ((used.user + used.system) / 1e6);
  } finally {
    await deleteStream(q.jsm, cfg.stream);
    await q.close();
  }
}

async function gatewayFigures(dir: string): Promise<void> {
  const section = "Gateway";
  const plan = planTraffic({ messages: 80_000, telnyxShare: 0.5, multiRecipientShare: 0.05, duplicateShare: 0, reorderShare: 0, openShare: 0.3 });
  const resend = plan.webhooks.filter((w) => w.provider === "resend");
  const telnyx = plan.webhooks.filter((w) => w.provider === "telnyx");
  log(`signing ${resend.length} Resend and ${telnyx.length} Telnyx requests`);
  const resendReqs = signed(resend);
  const telnyxReqs = signed(telnyx);

  const sodium = sodiumBackend();
  const nodeCeiling = ed25519PerSecond(nodeCryptoBackend, telnyx[0]!);

  /** wrk ROUNDS times against one system: the median of each figure (for the decision rows). */
  const medianThroughput = async (s: System, name: string, reqs: ReturnType<typeof signed>) => {
    const runs: WrkResult[] = [];
    for (let k = 0; k < ROUNDS; k++) runs.push(await throughput(s, name, reqs));
    return { rps: median(runs.map((r) => r.rps)), non2xx: runs.reduce((n, r) => n + r.non2xx, 0), latencyMs: { p99: median(runs.map((r) => r.latencyMs.p99)) } };
  };
  const throughput = async (s: System, name: string, reqs: ReturnType<typeof signed>) => {
    const file = await writeRequests(dir, name, s.gatewayHost, reqs);
    return runWrk(s.gatewayUrl, file, dir, { seconds: SECONDS });
  };

  // Three rounds, each measuring the baseline and the gateway back to back, so that a ratio
  // compares two figures taken under the same load; the table shows the median of each.
  const bare = await startBare(dir);
  let resendRps = 0;
  let ceiling = 0;
  try {
    await withSystem({ workers: 0 }, async (s) => {
      const bareFile = await writeRequests(dir, "bare", bare.host, resendReqs);
      const rounds: { bare: number; resend: number; resendP99: number; telnyx: number; ceiling: number; non2xx: number }[] = [];
      for (let k = 0; k < ROUNDS; k++) {
        const b = await runWrk(bare.url, bareFile, dir, { seconds: SECONDS });
        const r = await throughput(s, "gw-resend", resendReqs);
        const c = ed25519PerSecond(defaultEd25519Backend(), telnyx[0]!);
        const t = await throughput(s, "gw-telnyx", telnyxReqs);
        rounds.push({ bare: b.rps, resend: r.rps, resendP99: r.latencyMs.p99, telnyx: t.rps, ceiling: c, non2xx: r.non2xx + t.non2xx });
        log(`round ${k + 1}/${ROUNDS}: bare ${round(b.rps)}, Resend ${round(r.rps)} (×${(r.rps / b.rps).toFixed(2)}), Telnyx ${round(t.rps)} of ceiling ${round(c)} (×${(t.rps / c).toFixed(2)})`);
      }
      const m = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f));
      const runs = (f: (r: (typeof rounds)[number]) => number) => rounds.map((r) => f(r).toFixed(2)).join(", ");
      bareRuns.push(...rounds.map((r) => r.bare));
      resendRps = m((r) => r.resend);
      ceiling = m((r) => r.ceiling);
      add({ section, figure: `Ed25519 verify, one core (${defaultEd25519Backend().name}), median of ${ROUNDS}`, value: ceiling, unit: "verifies/s", baseline: { what: "node:crypto", value: nodeCeiling, unit: "verifies/s" }, ratio: ceiling / nodeCeiling, note: sodium ? "libsodium via sodium-native" : "sodium-native not available" });
      const resendRatio = m((r) => r.resend / r.bare);
      add({ section, figure: `Gateway throughput, Resend-signed, full path incl. JetStream ack, median of ${ROUNDS}`, value: resendRps, unit: "req/s", baseline: { what: "bare node:http", value: m((r) => r.bare), unit: "req/s" }, ratio: resendRatio, goal: "≥ 0.6 × bare", met: resendRatio >= 0.6, note: `wrk -c256, ratio per round ${runs((r) => r.resend / r.bare)}; ${rounds.reduce((n, r) => n + r.non2xx, 0)} non-2xx; p99 ${round(m((r) => r.resendP99))} ms (closed loop)` });
      const telnyxRatio = m((r) => r.telnyx / r.ceiling);
      add({ section, figure: `Gateway throughput, Telnyx-signed (1 process), median of ${ROUNDS}`, value: m((r) => r.telnyx), unit: "req/s", baseline: { what: "Ed25519 ceiling of 1 core", value: ceiling, unit: "verifies/s" }, ratio: telnyxRatio, goal: "≥ 0.8 × ceiling", met: telnyxRatio >= 0.8, note: `ratio per round ${runs((r) => r.telnyx / r.ceiling)}` });

      // Latency at half the measured Resend rate, open model (arrivals do not wait for answers).
      const rate = Math.max(100, Math.floor(resendRps / 2));
      const fresh = planTraffic({ messages: Math.ceil((rate * SECONDS * 2) / 1.2), telnyxShare: 0, multiRecipientShare: 0, duplicateShare: 0, reorderShare: 0, openShare: 0.3 }).webhooks;
      const total = Math.min(fresh.length, rate * SECONDS * 2);
      await latencyFigures(s, section, rate, "half the Resend throughput", (i) => ({ path: "/webhooks/resend", headers: signer.resend(fresh[i]!.body, fresh[i]!.deliveryId), body: Buffer.from(fresh[i]!.body) }), total);
    });
  } finally {
    await bare.stop();
  }

  // The decisions, each against the 1-process node:http gateway above.
  const traces: { on: number; off: number }[] = [];
  for (let k = 0; k < ROUNDS; k++) traces.push({ on: await publishesPerCpuSecond(true), off: await publishesPerCpuSecond(false) });
  add({ section, figure: `Decision: the NATS client keeps no async stack trace per request (noAsyncTraces), median of ${ROUNDS}`, value: median(traces.map((t) => t.off)), unit: "publishes per CPU s", baseline: { what: "with async traces (client default)", value: median(traces.map((t) => t.on)), unit: "publishes per CPU s" }, ratio: median(traces.map((t) => t.off / t.on)), note: "JetStream publish + PubAck, 100 B, 256 in flight, CPU of the publishing process" });
  await withSystem({ workers: 0, gatewayEnv: { GATEWAY_HTTP: "express" } }, async (s) => {
    const r = await medianThroughput(s, "gw-express", resendReqs);
    add({ section, figure: "Decision: express adapter instead of node:http (Resend)", value: r.rps, unit: "req/s", baseline: { what: "node:http gateway", value: resendRps, unit: "req/s" }, ratio: r.rps / resendRps, note: `p99 ${r.latencyMs.p99} ms` });
  });
  await withSystem({ workers: 0, gatewayEnv: { GATEWAY_PROCESSES: "2" } }, async (s) => {
    const r = await medianThroughput(s, "gw-cluster-resend", resendReqs);
    add({ section, figure: "Decision: 2 gateway processes (node:cluster), Resend", value: r.rps, unit: "req/s", baseline: { what: "1 process", value: resendRps, unit: "req/s" }, ratio: r.rps / resendRps });
    const t = await medianThroughput(s, "gw-cluster-telnyx", telnyxReqs);
    add({ section, figure: "Decision: 2 gateway processes (node:cluster), Telnyx", value: t.rps, unit: "req/s", baseline: { what: "Ed25519 ceiling of 2 cores", value: 2 * ceiling, unit: "verifies/s" }, ratio: t.rps / (2 * ceiling) });
  });
  await withSystem({ workers: 0, gatewayEnv: { GATEWAY_GROUPING: "off" } }, async (s) => {
    const r = await medianThroughput(s, "gw-single-resend", resendReqs);
    add({ section, figure: "Decision: one JetStream message per webhook (GATEWAY_GROUPING=off), Resend", value: r.rps, unit: "req/s", baseline: { what: "grouped (default)", value: resendRps, unit: "req/s" }, ratio: r.rps / resendRps, note: `p99 ${r.latencyMs.p99} ms` });
  });
  await withSystem({ workers: 0, gatewayEnv: { FLOODGATE_ED25519: "node" } }, async (s) => {
    const t = await medianThroughput(s, "gw-nodecrypto-telnyx", telnyxReqs);
    add({ section, figure: "Decision: Telnyx with node:crypto Ed25519 instead of libsodium", value: t.rps, unit: "req/s", baseline: { what: "node:crypto ceiling of 1 core", value: nodeCeiling, unit: "verifies/s" }, ratio: t.rps / nodeCeiling });
  });
}

/** One signature scheme's bench: the provider that uses it, and its signed requests. */
interface SchemeBench {
  scheme: string;
  provider: string;
  definition: ProviderDefinition<unknown>;
  requests: SignedRequest[];
}

/** `count` distinct signed deliveries of `provider` (a provider that batches: one event per POST). */
function deliveries(provider: keyof typeof PROVIDER_PROFILES, count: number): SignedRequest[] {
  const profile = PROVIDER_PROFILES[provider];
  return Array.from({ length: count }, (_, i) => {
    const built = profile.build({ messageId: randomUUID(), to: profile.channel === "sms" ? `+1555${String(i).padStart(7, "0")}` : `u${i}@example.com`, status: profile.steps.delivered as string });
    return signedRequest(signer, provider, built.body);
  });
}

/** Vonage Messages API webhooks with a JWT per request (no `jti`, so wrk may cycle through them). */
function vonageJwtRequests(count: number): SignedRequest[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, () => {
    const body = JSON.stringify({ message_uuid: randomUUID(), to: "447700900000", from: "AcmeInc", timestamp: new Date().toISOString(), status: "delivered", channel: "sms" });
    const { jti: _jti, ...claims } = vonageJwtClaims(Buffer.from(body), now);
    return { path: "/webhooks/vonage", headers: { "content-type": "application/json", authorization: `Bearer ${signJwtHs256(secrets.VONAGE_SIGNATURE_SECRET, claims)}` }, body };
  });
}

/** Single-core verifications per second of a provider's scheme over one of its requests (the runtime's verify, as the gateway calls it). */
async function verifiesPerSecond(definition: ProviderDefinition<unknown>, request: SignedRequest): Promise<number> {
  const served = createSnsTestFetch([{ url: secrets.LOADTEST_SNS_CERT_URL, pem: Buffer.from(secrets.LOADTEST_SNS_CERT_PEM, "base64").toString(), privateKey: undefined as never, region: "us-east-1" }]);
  const runtime = createProviderRuntime(definition, { ...secrets } as Record<string, string>, { fetch: served.fetch });
  const verifyRequest: VerifyRequest = { body: Buffer.from(request.body), headers: request.headers, url: request.path, method: "POST" };
  const first = await runtime.verify(verifyRequest); // an SNS certificate is fetched (and cached) here
  if (!first.ok) throw new Error(`${definition.id}: the bench request does not verify: ${first.reason}`);
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < 1500) {
    for (let i = 0; i < 50; i++) runtime.verify(verifyRequest);
    n += 50;
  }
  return n / ((performance.now() - started) / 1000);
}

async function schemeFigures(dir: string): Promise<void> {
  const section = "Gateway, by signature scheme";
  const benches: SchemeBench[] = [
    // The reference: Resend's HMAC-SHA256 over the raw body, the cheapest path the gateway has.
    {
      scheme: "Standard Webhooks HMAC-SHA256 (reference)",
      provider: "resend",
      definition: resend as ProviderDefinition<unknown>,
      requests: planTraffic({ messages: 10_000, telnyxShare: 0, multiRecipientShare: 0, duplicateShare: 0, reorderShare: 0, openShare: 0 }).webhooks.map((w) => signedRequest(signer, "resend", w.body, { deliveryId: w.deliveryId })),
    },
    { scheme: "HMAC-SHA1 over URL + form", provider: "twilio", definition: twilio as ProviderDefinition<unknown>, requests: deliveries("twilio", 20_000) },
    { scheme: "HTTP Basic", provider: "bandwidth", definition: bandwidth as ProviderDefinition<unknown>, requests: deliveries("bandwidth", 20_000) },
    { scheme: "HS256 JWT", provider: "vonage", definition: vonage as ProviderDefinition<unknown>, requests: vonageJwtRequests(20_000) },
    { scheme: "ECDSA P-256", provider: "sendgrid", definition: sendgrid as ProviderDefinition<unknown>, requests: deliveries("sendgrid", 20_000) },
    { scheme: "RSA (SNS, certificate cached)", provider: "ses", definition: ses as ProviderDefinition<unknown>, requests: deliveries("ses", 4_000) },
  ];
  const ceilings = new Map<string, number>();
  for (const b of benches) ceilings.set(b.scheme, await verifiesPerSecond(b.definition, b.requests[0]!));
  await withSystem({ workers: 0, gatewayEnv: extraGatewayEnv(secrets), gatewayNodeFlags: ["--import", SNS_FETCH_STUB] }, async (s) => {
    for (const b of benches) {
      // Warm the gateway's certificate cache (SNS) before measuring.
      const warm = b.requests[0]!;
      await fetch(`${s.gatewayUrl}${warm.path}`, { method: "POST", headers: warm.headers, body: warm.body });
      const file = await writeRequests(dir, `gw-${b.provider}`, s.gatewayHost, b.requests);
      const runs: number[] = [];
      let non2xx = 0;
      let p99 = 0;
      for (let k = 0; k < ROUNDS; k++) {
        const run = await runWrk(s.gatewayUrl, file, dir, { seconds: SECONDS });
        runs.push(run.rps);
        non2xx += run.non2xx;
        p99 = Math.max(p99, run.latencyMs.p99);
      }
      const r = { rps: median(runs), non2xx, latencyMs: { p99 } };
      const ceiling = ceilings.get(b.scheme)!;
      add({
        section,
        figure: `Gateway throughput, ${b.scheme} (${b.provider}), 1 process, median of ${ROUNDS}`,
        value: r.rps,
        unit: "req/s",
        baseline: { what: `${b.scheme} verify ceiling of 1 core`, value: ceiling, unit: "verifies/s" },
        ratio: r.rps / ceiling,
        note: `wrk -c256, ${r.non2xx} non-2xx, p99 ${r.latencyMs.p99} ms (highest of the runs)`,
      });
    }
  });
}

/** Times one fresh worker applying the `n` events already published (none applied yet). */
async function drainBacklog(s: System, n: number): Promise<{ rate: number; cpuPer10k: number; peakRss: number }> {
  const worker = await s.startWorker();
  try {
    const pid = worker.child.pid!;
    const rss = sampleRss(pid, 50);
    let first = 0;
    await waitFor("first events applied", async () => (first = await appliedCount(s)) > 0, 30_000, 20);
    const t0 = performance.now();
    const startCpu = procStats(pid).cpuSeconds;
    await waitFor("all events applied", async () => (await appliedCount(s)) >= n, 300_000, 50);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = procStats(pid).cpuSeconds - startCpu;
    return { rate: (n - first) / seconds, cpuPer10k: (cpu / (n - first)) * 10_000, peakRss: rss.stop() };
  } finally {
    await worker.stop();
  }
}

/**
 * One round on a system of its own (fresh database and stream): both batches of rows inserted and
 * the worker's backlog published first, then raw PostgreSQL, then the worker. Rounds that shared
 * one database each met a bigger table than the last (and autovacuum's work on it), so the median
 * of three was not a median of like measurements.
 */
async function workerRound(k: number, production: Record<string, string>) {
  return withSystem({ workers: 0, workerEnv: production }, async (s) => {
    const n = WORKER_EVENTS;
    const rawIds = await insertRecipients(s, `bench-pg-${k}`, n);
    await publishBacklog(s, await insertRecipients(s, `bench-worker-${k}`, n));
    const pg = await rawUpdateRate(s, rawIds);
    const worker = await drainBacklog(s, n);
    log(`round ${k + 1}/${ROUNDS}: raw PostgreSQL ${round(pg)} rows/s, worker ${round(worker.rate)} events/s (×${(worker.rate / pg).toFixed(2)})`);
    return { pg, worker };
  });
}

async function workerFigures(): Promise<void> {
  const section = "Worker";
  const production = { WEBHOOK_FLUSH_INTERVAL: "1000", WEBHOOK_ACK_WAIT_MS: "30000", PARKED_REMATCH_INTERVAL_MS: "1000" };
  const rounds: Awaited<ReturnType<typeof workerRound>>[] = [];
  for (let k = 0; k < ROUNDS; k++) rounds.push(await workerRound(k, production));
  const m = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f));
  const rate = m((r) => r.worker.rate);
  const ratio = m((r) => r.worker.rate / r.pg);
  const peakRss = Math.max(...rounds.map((r) => r.worker.peakRss));
  const cpuPer10k = m((r) => r.worker.cpuPer10k);
  add({ section, figure: `Worker events applied per second (1 process; batches of 100 messages of ${GROUP} events, 10 in parallel), median of ${ROUNDS}`, value: rate, unit: "events/s", baseline: { what: "raw PostgreSQL UPDATE…FROM unnest ×1000", value: m((r) => r.pg), unit: "rows/s" }, ratio, goal: "≥ 10,000/s and ≥ 0.5 × raw", met: rate >= 10_000 && ratio >= 0.5, note: `ratio per round ${rounds.map((r) => (r.worker.rate / r.pg).toFixed(2)).join(", ")}; each round on a fresh database` });
  add({ section, figure: "Worker peak RSS draining a backlog at full speed (highest of the rounds)", value: peakRss / 2 ** 20, unit: "MB", goal: "≤ 100 MB at ≥ 10 k events/s", met: rate >= 10_000 && peakRss / 2 ** 20 <= 100, note: `at ${round(rate)} events/s` });
  add({ section, figure: "Worker CPU per 10 k events", value: cpuPer10k, unit: "CPU s", goal: "≤ 0.5 CPU s", met: cpuPer10k <= 0.5 });
}

async function endToEndFigures(): Promise<void> {
  const section = "End to end";
  const production = { WEBHOOK_FLUSH_INTERVAL: "1000", WEBHOOK_ACK_WAIT_MS: "30000", PARKED_REMATCH_INTERVAL_MS: "1000", ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}) };
  await withSystem({ workers: 1, workerEnv: production }, async (s) => {
    const messages = Math.ceil((E2E_RATE * E2E_SECONDS) / 2.25);
    log(`sustained run: ${E2E_RATE} webhooks/s for ~${E2E_SECONDS} s (${messages} messages)`);
    const workerPid = s.workers[0]!.child.pid!;
    const rss = sampleRss(workerPid, 100);
    let cpuBefore = procStats(workerPid).cpuSeconds;
    const gateway = gatewayWindow(s);
    const r = await runLoad({
      gatewayUrl: s.gatewayUrl,
      databaseUrl: s.database.url,
      signer,
      rate: E2E_RATE,
      messages,
      ...SUSTAINED_MIX,
      settleTimeoutMs: 120_000,
      generators: GENERATORS,
      warmupSeconds: WARMUP_SECONDS,
      onMeasureStart: async () => {
        await gateway.start();
        cpuBefore = procStats(workerPid).cpuSeconds;
      },
      onProgress: (line) => log(line),
    });
    add({ section, figure: `End to end p99 at ${E2E_RATE} webhooks/s for ${round(r.load.durationMs / 1000)} s (send → row changed)`, value: r.endToEnd.p99, unit: "ms", goal: "< 2000 ms", met: r.endToEnd.p99 < 2000 && r.correctness.ok, note: `p50 ${round(r.endToEnd.p50)} ms; achieved ${round(r.load.achievedRate)} req/s; response p99 ${round(r.latency.p99)} ms; ${r.load.ok}/${r.load.sent} 2xx${r.load.ok < r.load.sent ? ` (others: ${otherAnswers(r.load.byStatus)})` : ""}; exactly-once check ${r.correctness.ok ? "passed" : "FAILED"}` });
    add({ section, figure: "End to end p50", value: r.endToEnd.p50, unit: "ms", goal: "< 5 s processing delay", met: r.endToEnd.p50 < 5000 });
    const { p99: serverP99, context } = await gateway.finish((r.load.durationMs + r.settledMs) / 1000);
    add({ section, figure: `Response p99 in the sustained run: client side (first byte written → last byte read)`, value: r.latency.p99, unit: "ms", note: `p50 ${round(r.latency.p50)} ms, max ${round(r.latency.max)} ms; the gateway's own p99 ${serverP99 === undefined ? "n/a" : round(serverP99 * 1000)} ms; generator lateness p99 ${round(r.load.lateness.p99)} ms${r.load.onTime ? "" : " — the generator fell behind: not the gateway's latency"}; ${context}` });
    const peak = rss.stop() / 2 ** 20;
    const events = r.correctness.appliedEvents;
    const eventsPerSecond = events / (r.load.durationMs / 1000);
    const cpuPer10k = ((procStats(workerPid).cpuSeconds - cpuBefore) / events) * 10_000;
    add({ section: "Worker", figure: `Worker peak RSS at a steady ${round(eventsPerSecond)} events/s (the sustained run)`, value: peak, unit: "MB" });
    add({ section: "Worker", figure: `Worker CPU per 10 k events at a steady ${round(eventsPerSecond)} events/s`, value: cpuPer10k, unit: "CPU s", goal: "≤ 0.5 CPU s", met: cpuPer10k <= 0.5, note: "includes the idle timers (re-match, stats) spread over fewer events" });
  });
}

async function storageFigures(): Promise<void> {
  const section = "JetStream storage";
  const runs: { grouping: "on" | "off"; rate: number }[] = [
    { grouping: "on", rate: 10_000 },
    { grouping: "on", rate: 2_000 },
    { grouping: "off", rate: 2_000 },
  ];
  for (const { grouping, rate } of runs) {
    await withSystem({ workers: 0, gatewayEnv: { GATEWAY_GROUPING: grouping } }, async (s) => {
      const r = await sendQueuedMix(s.gatewayUrl, signer, rate, 4);
      const { state } = await s.queueConnection.jsm.streams.info(s.queue.stream);
      const perWebhook = state.bytes / r.ok;
      const primary = grouping === "on" && rate === 10_000;
      add({
        section,
        figure: `Stored bytes per queued webhook (mixed Telnyx/Resend, grouping ${grouping}, ${rate} req/s)`,
        value: perWebhook,
        unit: "B",
        ...(primary ? { goal: "≤ 100 B (10 M in 1 GB)", met: perWebhook <= 100 } : {}),
        note: `${r.ok} webhooks in ${state.messages} messages, ${state.bytes} B; ${round(1e9 / perWebhook / 1e6)} M webhooks per GB`,
      });
    });
  }
}

async function main(): Promise<void> {
  await ensureWrk();
  await mkdir(OUT, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), "fg-bench-"));
  const only = process.env.BENCH_ONLY?.split(",");
  const want = (name: string) => !only || only.includes(name);
  try {
    if (want("gateway")) await gatewayFigures(dir);
    if (want("schemes")) await schemeFigures(dir);
    if (want("worker")) await workerFigures();
    if (want("statements")) await statementFigures();
    if (want("workers")) await workerScaleFigures();
    if (want("e2e")) await endToEndFigures();
    if (want("storage")) await storageFigures();
    if (want("capacity")) await capacityFigures({ secrets, signer, bareRps: () => bareRps(dir), generators: GENERATORS, warmupSeconds: WARMUP_SECONDS });
    if (want("durability")) await durabilityFigures();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const md = markdown();
  await writeFile(join(OUT, "results.json"), JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, at: new Date().toISOString(), figures }, null, 2));
  await writeFile(join(OUT, "results.md"), md);
  console.log(md);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
