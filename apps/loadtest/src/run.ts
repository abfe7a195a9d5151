import { checkInvariant } from "@floodgate/db";
import pg from "pg";
import { runOpenLoad, type LoadProgress, type OpenLoadResult } from "./open-load.js";
import { LatencyRecorder, formatMs, type LatencySummary } from "./stats.js";
import { planTraffic, type TrafficOptions, type TrafficPlan } from "./traffic.js";
import { signedRequest, type WebhookSigner } from "./webhooks.js";

export interface RunOptions extends TrafficOptions {
  gatewayUrl: string;
  databaseUrl: string;
  signer: WebhookSigner;
  /** Steady arrival rate, webhooks per second. */
  rate: number;
  /** Every `burstEveryMs`, send at `burstFactor` × rate for `burstMs` (0 = no bursts). */
  burstFactor?: number;
  burstEveryMs?: number;
  burstMs?: number;
  maxInFlight?: number;
  /** How long to wait for every acknowledged webhook to be applied (default 60 s). */
  settleTimeoutMs?: number;
  onProgress?: (line: string) => void;
  /** Called about once a second while the load runs, with the generator's own progress. */
  onLoadProgress?: (p: LoadProgress) => void;
}

export interface RunReport {
  webhooks: number;
  messages: number;
  load: Omit<OpenLoadResult, "latency">;
  latency: LatencySummary;
  /** From a webhook's send to its recipient row changing (in-order messages' last step). */
  endToEnd: LatencySummary;
  correctness: {
    /** Distinct events in acknowledged webhooks. */
    acknowledgedEvents: number;
    /** Of those, found in the applied-event ledger. */
    appliedEvents: number;
    /** Acknowledged but not applied (must be 0). */
    missingEvents: number;
    /** Messages whose every lifecycle webhook was acknowledged but whose row has another status. */
    wrongStatus: number;
    /** Batch counters that differ from a recount (must be empty). */
    invariantViolations: number;
    ok: boolean;
  };
  settledMs: number;
}

/**
 * Arrival schedule with bursts: `rate` per second, and during the first `burstMs` of every
 * `burstEveryMs`, `factor` times that.
 */
export function burstSchedule(total: number, rate: number, factor: number, everyMs: number, burstMs: number): Float64Array {
  const at = new Float64Array(total);
  let t = 0;
  for (let i = 0; i < total; i++) {
    at[i] = t;
    const inBurst = factor > 1 && everyMs > 0 && t % everyMs < burstMs;
    t += 1000 / (inBurst ? rate * factor : rate);
  }
  return at;
}

async function insertRecipients(pool: pg.Pool, batch: string, plan: TrafficPlan): Promise<void> {
  await pool.query("INSERT INTO batches (id) VALUES ($1)", [batch]);
  for (let i = 0; i < plan.messages.length; i += 10_000) {
    const chunk = plan.messages.slice(i, i + 10_000);
    await pool.query(
      "INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT $1 || '-' || m, $1, p, m FROM unnest($2::text[], $3::text[]) AS t(p, m)",
      [batch, chunk.map((m) => m.provider), chunk.map((m) => m.providerMessageId)],
    );
  }
}

/**
 * Creates the recipients, sends the planned webhooks at a fixed arrival rate (with optional
 * bursts), then waits until every acknowledged event is applied and checks the database:
 * nothing acknowledged missing, every fully acknowledged message in its expected status,
 * counters equal to a recount.
 */
export async function runLoad(options: RunOptions): Promise<RunReport> {
  const plan = planTraffic(options);
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  try {
    const batch = `lt-${Date.now().toString(36)}`;
    await insertRecipients(pool, batch, plan);
    const total = plan.webhooks.length;
    const schedule = options.burstFactor && options.burstFactor > 1 ? burstSchedule(total, options.rate, options.burstFactor, options.burstEveryMs ?? 10_000, options.burstMs ?? 1000) : undefined;
    const sentAt = new Float64Array(total); // epoch ms at which each request's first byte was written
    const acked = new Uint8Array(total);
    const bodies = plan.webhooks.map((w) => Buffer.from(w.body));
    const load = await runOpenLoad({
      target: options.gatewayUrl,
      rate: options.rate,
      total,
      maxInFlight: options.maxInFlight ?? 2048,
      ...(schedule ? { arrivalMs: (i: number) => schedule[i]! } : {}),
      makeRequest(i) {
        const w = plan.webhooks[i]!;
        if (w.provider === "telnyx") return { path: "/webhooks/telnyx", headers: options.signer.telnyx(w.body), body: bodies[i]! };
        // Every send is signed afresh (a retry too): a new timestamp, nonce or token each time.
        const signed = signedRequest(options.signer, w.provider, w.body, { deliveryId: w.deliveryId });
        return { path: signed.path, headers: signed.headers, body: signed.body === w.body ? bodies[i]! : Buffer.from(signed.body) };
      },
      onResponse(i, status, writtenAt) {
        sentAt[i] = performance.timeOrigin + writtenAt;
        if (status >= 200 && status < 300) acked[i] = 1;
      },
      onProgress: (p) => {
        options.onLoadProgress?.(p);
        options.onProgress?.(`${(p.elapsedMs / 1000).toFixed(0)} s: sent ${p.sent}/${total}, answered ${p.completed}, 2xx ${p.ok}, in flight ${p.inFlight}`);
      },
    });

    // Every acknowledged event must reach the ledger.
    const ackedEvents = new Map<string, string[]>();
    for (let i = 0; i < total; i++) {
      if (!acked[i]) continue;
      const w = plan.webhooks[i]!;
      const list = ackedEvents.get(w.provider) ?? [];
      for (const id of w.eventIds) list.push(id);
      ackedEvents.set(w.provider, list);
    }
    for (const [p, ids] of ackedEvents) ackedEvents.set(p, [...new Set(ids)]);
    const acknowledgedEvents = [...ackedEvents.values()].reduce((n, ids) => n + ids.length, 0);
    const applied = async () => {
      let n = 0;
      for (const [provider, ids] of ackedEvents) {
        const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events WHERE provider = $1 AND provider_event_id = ANY($2::text[])", [provider, ids]);
        n += rows[0]!.n;
      }
      return n;
    };
    const settleStart = Date.now();
    let appliedEvents = await applied();
    while (appliedEvents < acknowledgedEvents && Date.now() - settleStart < (options.settleTimeoutMs ?? 60_000)) {
      options.onProgress?.(`settling: ${appliedEvents}/${acknowledgedEvents} events applied`);
      await new Promise((r) => setTimeout(r, 500));
      appliedEvents = await applied();
    }
    const settledMs = Date.now() - settleStart;

    // End to end: the last step of in-order messages is the one that changes the row last.
    const { rows } = await pool.query<{ m: string; at: string; status: string }>(
      "SELECT provider_message_id AS m, (extract(epoch FROM updated_at) * 1000)::float8 AS at, status FROM recipients WHERE batch_id = $1",
      [batch],
    );
    const row = new Map(rows.map((r) => [r.m, r]));
    const e2e = new LatencyRecorder(plan.messages.length);
    for (let i = 0; i < total; i++) {
      const w = plan.webhooks[i]!;
      if (!w.final || !acked[i]) continue;
      const r = row.get(plan.messages[w.message]!.providerMessageId);
      if (r) e2e.record(Math.max(0, Number(r.at) - sentAt[i]!));
    }
    // Messages all of whose lifecycle webhooks were acknowledged must be in their final status.
    const allAcked = new Uint8Array(plan.messages.length).fill(1);
    for (let i = 0; i < total; i++) if (!acked[i] && !plan.webhooks[i]!.duplicate) allAcked[plan.webhooks[i]!.message] = 0;
    let wrongStatus = 0;
    plan.messages.forEach((m, i) => {
      if (allAcked[i] && row.get(m.providerMessageId)?.status !== m.expectedStatus) wrongStatus++;
    });
    const violations = await checkInvariant(pool, [batch]);
    const { latency, ...rest } = load;
    const missingEvents = acknowledgedEvents - appliedEvents;
    return {
      webhooks: total,
      messages: plan.messages.length,
      load: rest,
      latency,
      endToEnd: e2e.summary(),
      correctness: {
        acknowledgedEvents,
        appliedEvents,
        missingEvents,
        wrongStatus,
        invariantViolations: violations.length,
        ok: missingEvents === 0 && wrongStatus === 0 && violations.length === 0,
      },
      settledMs,
    };
  } finally {
    await pool.end();
  }
}

/** A human-readable report. */
export function formatReport(r: RunReport): string {
  const codes = Object.entries(r.load.byStatus)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  return [
    `webhooks sent ${r.load.sent} (${r.messages} messages), answered 2xx ${r.load.ok}; by status: ${codes}`,
    `achieved ${r.load.achievedRate.toFixed(0)} req/s over ${(r.load.durationMs / 1000).toFixed(1)} s`,
    `response (first byte written → last byte read) p50 ${formatMs(r.latency.p50)}  p90 ${formatMs(r.latency.p90)}  p99 ${formatMs(r.latency.p99)}  max ${formatMs(r.latency.max)}`,
    `generator lateness (written − scheduled) p99 ${formatMs(r.load.lateness.p99)}  max ${formatMs(r.load.lateness.max)}; it used ${r.load.cpuCores.toFixed(2)} of a core${r.load.onTime ? "" : "  → the generator fell behind its schedule: the response times above are not the gateway's alone"}`,
    `end to end (send → row changed) p50 ${formatMs(r.endToEnd.p50)}  p99 ${formatMs(r.endToEnd.p99)}  (${r.endToEnd.count} messages)`,
    `correctness: ${r.correctness.appliedEvents}/${r.correctness.acknowledgedEvents} acknowledged events applied, missing ${r.correctness.missingEvents}, wrong status ${r.correctness.wrongStatus}, counter mismatches ${r.correctness.invariantViolations} → ${r.correctness.ok ? "OK" : "FAILED"}`,
  ].join("\n");
}
