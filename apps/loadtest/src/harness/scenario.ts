import { randomUUID } from "node:crypto";
import { Agent, request } from "node:http";
import { runOpenLoad, type OpenLoadResult } from "../open-load.js";
import { telnyxBody, type TelnyxStatus } from "../webhooks.js";
import { waitFor } from "./processes.js";
import type { System } from "./system.js";

/** One delivery webhook per recipient, sent at a fixed rate: what a fault test runs under. */
export interface DeliveryRun {
  batch: string;
  messageIds: string[];
  eventIds: string[];
  /** Indexes answered 2xx (stored by JetStream). */
  acked: Set<number>;
  load: OpenLoadResult;
  /**
   * Every answer of the run, resends included: when the request was sent (`performance.now()`)
   * and whether it was 2xx. Time-outs and connection errors count as not 2xx, as for a provider.
   */
  answers: { sentAt: number; ok: boolean; status: number }[];
  /** Resends made during the run (see {@link DeliveryOptions.resendAfterMs}). */
  resent: number;
}

/** Options of {@link runDeliveries}. */
export interface DeliveryOptions {
  /**
   * Sends a webhook again this long after it was answered with anything but 2xx (or not answered
   * in time), during the run, as a provider does; again and again until it is acknowledged or
   * `resendForMs` has passed since the load ended. Default: no resends during the run.
   */
  resendAfterMs?: number;
  /** How long after the load ended resends go on (default 60 s). */
  resendForMs?: number;
  /** Client timeout of one request, ms (default 5000). */
  timeoutMs?: number;
}

/** Inserts `total` recipients in a new batch, the way the sending side does. */
export async function insertRecipients(sys: System, total: number): Promise<{ batch: string; messageIds: string[] }> {
  const batch = `b-${randomUUID()}`;
  const messageIds = Array.from({ length: total }, () => randomUUID());
  await sys.pool.query("INSERT INTO batches (id) VALUES ($1)", [batch]);
  await sys.pool.query("INSERT INTO recipients (id, batch_id, provider, provider_message_id) SELECT 'r-' || m, $1, 'telnyx', m FROM unnest($2::text[]) AS m", [batch, messageIds]);
  return { batch, messageIds };
}

function signedDelivery(sys: System, messageId: string, eventId: string, i: number, status: TelnyxStatus = "delivered") {
  const body = telnyxBody({ eventId, messageId, to: [{ phone: `+1555${String(i).padStart(7, "0")}`, status }] });
  return { path: "/webhooks/telnyx", headers: sys.signer.telnyx(body), body: Buffer.from(body) };
}

/** Sends one request to the gateway; resolves with its status, 0 when it failed or timed out. */
function sendOnce(agent: Agent, target: URL, req: { path: string; headers: Record<string, string>; body: Buffer }, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const r = request(
      { host: target.hostname, port: target.port, path: req.path, method: "POST", agent, timeout: timeoutMs, headers: { ...req.headers, "content-length": req.body.length } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      },
    );
    r.on("timeout", () => r.destroy());
    r.on("error", () => resolve(0));
    r.end(req.body);
  });
}

/**
 * Sends one signed `delivered` webhook per recipient at `rate`/s (open model), calling
 * `during(elapsedMs)` about once a second so a test can inject its fault mid-load. With
 * `resendAfterMs`, what is not answered 2xx is sent again during the run, as a provider does.
 */
export async function runDeliveries(sys: System, total: number, rate: number, during?: (elapsedMs: number) => void, options: DeliveryOptions = {}): Promise<DeliveryRun> {
  const { batch, messageIds } = await insertRecipients(sys, total);
  const eventIds = messageIds.map(() => randomUUID());
  const acked = new Set<number>();
  const answers: DeliveryRun["answers"] = [];
  const timeoutMs = options.timeoutMs ?? 5000;
  const target = new URL(sys.gatewayUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const resends: Promise<void>[] = [];
  let resent = 0;
  let loadEndedAt = Infinity;
  const seen = new Set<number>();
  const answered = (i: number, status: number, sentAt: number) => {
    seen.add(i);
    const ok = status >= 200 && status < 300;
    answers.push({ sentAt, ok, status });
    if (ok) acked.add(i);
    else if (options.resendAfterMs !== undefined && performance.now() - loadEndedAt < (options.resendForMs ?? 60_000)) resends.push(resendLater(i));
  };
  const resendLater = async (i: number): Promise<void> => {
    await new Promise((r) => setTimeout(r, options.resendAfterMs));
    const sentAt = performance.now();
    resent++;
    answered(i, await sendOnce(agent, target, signedDelivery(sys, messageIds[i]!, eventIds[i]!, i), timeoutMs), sentAt);
  };
  const load = await runOpenLoad({
    target: sys.gatewayUrl,
    rate,
    total,
    timeoutMs,
    makeRequest: (i) => signedDelivery(sys, messageIds[i]!, eventIds[i]!, i),
    onResponse: answered,
    onProgress: (p) => during?.(p.elapsedMs),
  });
  loadEndedAt = performance.now();
  // Arrivals the generator could not send (`saturated`: too many requests in flight on a busy
  // machine) were never answered: the provider sends those again too.
  if (options.resendAfterMs !== undefined) for (let i = 0; i < total; i++) if (!seen.has(i)) resends.push(resendLater(i));
  // Resends add resends of their own while they fail: wait until none is left.
  for (let settled = 0; settled < resends.length; ) {
    const upTo = resends.length;
    await Promise.all(resends.slice(settled, upTo));
    settled = upTo;
  }
  agent.destroy();
  return { batch, messageIds, eventIds, acked, load, answers, resent };
}

/**
 * The longest stretch of a run, ms, from a request answered anything but 2xx to the next request
 * (by send time) answered 2xx: how long a provider sending then saw nothing accepted. A stretch
 * still open at the end runs to the last request sent.
 */
export function longestNon2xxMs(run: Pick<DeliveryRun, "answers">): number {
  const answers = [...run.answers].sort((a, b) => a.sentAt - b.sentAt);
  let longest = 0;
  let since: number | undefined;
  for (const a of answers) {
    if (!a.ok) since ??= a.sentAt;
    else if (since !== undefined) {
      longest = Math.max(longest, a.sentAt - since);
      since = undefined;
    }
  }
  if (since !== undefined) longest = Math.max(longest, answers.at(-1)!.sentAt - since);
  return Math.round(longest);
}

/**
 * Sends again, as the provider would, every webhook that was not answered 2xx (same event id,
 * fresh signature), until all are acknowledged or `attempts` rounds have passed.
 */
export async function retryUnacked(sys: System, run: DeliveryRun, attempts = 10): Promise<void> {
  for (let round = 0; round < attempts && run.acked.size < run.messageIds.length; round++) {
    const missing = run.messageIds.map((_, i) => i).filter((i) => !run.acked.has(i));
    await runOpenLoad({
      target: sys.gatewayUrl,
      rate: 500,
      total: missing.length,
      timeoutMs: 5000,
      makeRequest: (k) => signedDelivery(sys, run.messageIds[missing[k]!]!, run.eventIds[missing[k]!]!, missing[k]!),
      onResponse(k, status) {
        if (status >= 200 && status < 300) run.acked.add(missing[k]!);
      },
    });
    if (run.acked.size < run.messageIds.length) await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The numbers a fault test reports and checks. */
export interface DeliveryReport {
  sent: number;
  acknowledged: number;
  applied: number;
  deadLettered: number;
  /** Acknowledged webhooks whose event is not in the database. */
  missing: number[];
  /** Ledger rows beyond one per applied recipient (an event applied twice would show here). */
  ledgerRows: number;
}

/**
 * Waits until every acknowledged webhook of `run` is applied, then counts: applied recipients,
 * ledger rows for the batch's events, dead letters. Prints a one-line report.
 */
export async function settleAndReport(sys: System, run: DeliveryRun, name: string, expectedDeadLetters = 0): Promise<DeliveryReport> {
  const appliedIds = async () =>
    new Set(
      (await sys.pool.query<{ id: string }>("SELECT provider_message_id AS id FROM recipients WHERE batch_id = $1 AND status <> 'queued'", [run.batch])).rows.map((r) => r.id),
    );
  await waitFor(`every acknowledged webhook applied (${name})`, async () => (await appliedIds()).size >= run.acked.size - expectedDeadLetters, 90_000, 250);
  const applied = await appliedIds();
  const missing = [...run.acked].filter((i) => !applied.has(run.messageIds[i]!));
  const eventKeys = run.eventIds.map((id, i) => `${id}:+1555${String(i).padStart(7, "0")}`);
  const ledger = await sys.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied_events WHERE provider = 'telnyx' AND provider_event_id = ANY($1::text[])", [eventKeys]);
  const deadLettered = await sys.deadLetterCount();
  const report: DeliveryReport = { sent: run.load.sent, acknowledged: run.acked.size, applied: applied.size, deadLettered, missing, ledgerRows: ledger.rows[0]!.n };
  console.log(`[fault:${name}] sent=${report.sent} acknowledged=${report.acknowledged} applied=${report.applied} dead-lettered=${report.deadLettered} missing=${missing.length} ledger=${report.ledgerRows}`);
  return report;
}

/**
 * HTTP answers of a run other than 2xx (the gateway refusing), by status. Requests the generator
 * itself could not complete in time on a busy machine (`saturated`, `timeout`, `error`) are not
 * refusals: the provider retries those, as {@link retryUnacked} does.
 */
export function refusals(run: DeliveryRun): Record<string, number> {
  return Object.fromEntries(Object.entries(run.load.byStatus).filter(([status]) => /^\d+$/.test(status) && !status.startsWith("2")));
}
