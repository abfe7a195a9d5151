import { checkInvariant } from "@floodgate/db";
import pg from "pg";
import { runOpenLoadSpread } from "./load-processes.js";
import type { LoadProgress, LoadRequest, OpenLoadResult } from "./open-load.js";
import { LatencyRecorder, formatMs, type LatencySummary } from "./stats.js";
import { planTraffic, type PlannedWebhook, type TrafficOptions, type TrafficPlan } from "./traffic.js";
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
  /** Requests in flight at once, and connections open at most (default: 2 s of arrivals, at least 2,048). */
  maxInFlight?: number;
  /** How long to wait for every acknowledged webhook to be applied (default 60 s). */
  settleTimeoutMs?: number;
  onProgress?: (line: string) => void;
  /**
   * Generator processes sharing the schedule (default 1): the generator never runs in the
   * caller's process, whose heap and other work would stall its schedule.
   */
  generators?: number;
  /**
   * Seconds of the same traffic sent first and not measured (default 0): a freshly started
   * system's first moments are not its steady state.
   */
  warmupSeconds?: number;
  /** Called once the warm-up is over, just before the measured run (to take "before" readings). */
  onMeasureStart?: () => Promise<void>;
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

/** A planned webhook as the provider would send it, signed now (before the generator's clock starts). */
function requestFor(signer: WebhookSigner, w: PlannedWebhook): LoadRequest {
  const body = Buffer.from(w.body);
  if (w.provider === "telnyx") return { path: "/webhooks/telnyx", headers: signer.telnyx(w.body), body };
  // Every send is signed on its own (a retry too): its own timestamp, nonce or token.
  const signed = signedRequest(signer, w.provider, w.body, { deliveryId: w.deliveryId });
  return { path: signed.path, headers: signed.headers, body: signed.body === w.body ? body : Buffer.from(signed.body) };
}

/** Sends a plan's webhooks at the options' arrival rate from the generator processes. */
function sendPlan(plan: TrafficPlan, options: RunOptions, onResponse?: (i: number, status: number, sentAtEpochMs: number) => void, onProgress?: (p: LoadProgress) => void): Promise<OpenLoadResult> {
  const total = plan.webhooks.length;
  const burst = options.burstFactor && options.burstFactor > 1 ? { factor: options.burstFactor, everyMs: options.burstEveryMs ?? 10_000, burstMs: options.burstMs ?? 1000 } : undefined;
  // As a provider's fleet does, a request never waits for a free connection: when answers slow
  // down, more connections open. Only an arrival beyond 2 s of arrivals in flight (by then end to
  // end is past any bound) is not sent.
  const limit = options.maxInFlight ?? Math.max(2048, Math.ceil(options.rate * 2));
  return runOpenLoadSpread(
    {
      target: options.gatewayUrl,
      rate: options.rate,
      total,
      processes: options.generators ?? 1,
      maxInFlight: limit,
      maxConnections: limit,
      ...(burst ? { burst } : {}),
      makeRequest: (i) => requestFor(options.signer, plan.webhooks[i]!),
      ...(onProgress ? { onProgress } : {}),
    },
    onResponse,
  );
}

/**
 * Warms the system up: the same traffic at the same rate for `seconds`, to recipients of a batch
 * of its own, measured by nothing. A freshly started gateway answers its first moments of
 * full-rate traffic slowly (JIT, first publishes); the generator then opens hundreds of
 * connections at once, and the whole run would carry that start.
 */
async function warmUp(pool: pg.Pool, options: RunOptions, seconds: number, webhooksPerMessage: number): Promise<void> {
  const plan = planTraffic({ ...options, messages: Math.max(1, Math.ceil((options.rate * seconds) / webhooksPerMessage)) });
  await insertRecipients(pool, `lt-warmup-${Date.now().toString(36)}`, plan);
  options.onProgress?.(`warming up: ${plan.webhooks.length} webhooks at ${options.rate}/s, not measured`);
  const r = await sendPlan(plan, options);
  options.onProgress?.(`warmed up: ${r.ok}/${r.sent} answered 2xx, response p99 ${formatMs(r.latency.p99)}`);
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
    if (options.warmupSeconds) await warmUp(pool, options, options.warmupSeconds, plan.webhooks.length / Math.max(1, plan.messages.length));
    const batch = `lt-${Date.now().toString(36)}`;
    await insertRecipients(pool, batch, plan);
    await options.onMeasureStart?.();
    const total = plan.webhooks.length;
    const sentAt = new Float64Array(total); // epoch ms at which each request's first byte was written
    const acked = new Uint8Array(total);
    const load = await sendPlan(
      plan,
      options,
      (i, status, writtenAtEpochMs) => {
        sentAt[i] = writtenAtEpochMs;
        if (status >= 200 && status < 300) acked[i] = 1;
      },
      (p) => {
        options.onLoadProgress?.(p);
        options.onProgress?.(`${(p.elapsedMs / 1000).toFixed(0)} s: sent ${p.sent}/${total}, answered ${p.completed}, 2xx ${p.ok}, in flight ${p.inFlight}`);
      },
    );

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

/** The answers other than 2xx by status (`503: 12, timeout: 3`), or "" when there were none. */
export function otherAnswers(byStatus: Record<string, number>): string {
  return Object.entries(byStatus)
    .filter(([status]) => !/^2\d\d$/.test(status))
    .map(([status, n]) => `${status}: ${n}`)
    .join(", ");
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
