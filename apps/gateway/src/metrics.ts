import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { OUTCOME_STATUS, type IngestResult } from "@floodgate/ingest";
import { VERIFY_FAILURE_REASONS } from "@floodgate/provider-kit";

/** Response-time buckets (seconds) resolving 1–100 ms finely, with a tail to 10 s. */
export const RESPONSE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Distinct event types counted per provider; more become `other` (a plugin maps a closed set anyway). */
export const MAX_TYPES_PER_PROVIDER = 64;

/** Memoizes `make(a, b)` by its two label values. */
function bound<C>(make: (a: string, b: string) => C): (a: string, b: string) => C {
  const cache = new Map<string, C>();
  return (a, b) => {
    const key = `${a}\u0000${b}`;
    let child = cache.get(key);
    if (child === undefined) cache.set(key, (child = make(a, b)));
    return child;
  };
}

/**
 * Label values from closed sets only, whatever a request carries: the configured provider ids
 * (else `unknown`), the statuses and reasons the code can produce (else `other`), and at most
 * {@link MAX_TYPES_PER_PROVIDER} event types per provider (then `other`). So the number of
 * series is bounded however many hostile requests arrive.
 */
function createLabels(providerIds: readonly string[]) {
  const providers = new Set(providerIds);
  const codes = new Set([...Object.values(OUTCOME_STATUS), 500].map(String));
  const reasons = new Set<string>([...VERIFY_FAILURE_REASONS, "handshake_failed", ...Object.keys(OUTCOME_STATUS)]);
  const typesByProvider = new Map<string, Set<string>>();
  return {
    provider: (p: string | undefined) => (p !== undefined && providers.has(p) ? p : "unknown"),
    code: (status: number) => {
      const code = String(status);
      return codes.has(code) ? code : "other";
    },
    reason: (r: string) => (reasons.has(r) ? r : "other"),
    unmapped: (r: string) => (r === "unsupported_event" || r === "malformed" ? r : "other"),
    type(provider: string, type: string | undefined): string {
      if (type === undefined) return "unknown";
      let types = typesByProvider.get(provider);
      if (!types) typesByProvider.set(provider, (types = new Set()));
      if (types.has(type)) return type;
      if (types.size >= MAX_TYPES_PER_PROVIDER) return "other";
      types.add(type);
      return type;
    },
  };
}

/** The gateway's Prometheus metrics, labelled from closed sets (see {@link createLabels}). */
export function createGatewayMetrics(providerIds: readonly string[], registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const labels = createLabels(providerIds);
  const received = new Counter({
    name: "webhook_received_total",
    help: "Webhooks received, by provider and event type (type is `unknown` when the body was not parsed).",
    labelNames: ["provider", "type"] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: "webhook_rejected_total",
    help: "Webhooks answered without being queued or kept, by provider and reason (outcome or verification reason).",
    labelNames: ["provider", "reason"] as const,
    registers: [registry],
  });
  const queued = new Counter({
    name: "webhook_queued_total",
    help: "Webhooks stored by JetStream (newly stored; duplicates are counted in webhook_duplicate_total).",
    labelNames: ["provider", "type"] as const,
    registers: [registry],
  });
  const duplicate = new Counter({
    name: "webhook_duplicate_total",
    help: "Webhooks JetStream already held within its duplicate window (provider retries).",
    labelNames: ["provider", "type"] as const,
    registers: [registry],
  });
  const queuedEvents = new Counter({
    name: "webhook_queued_events_total",
    help: "Normalized events carried by newly stored webhooks (a Telnyx webhook carries one per recipient).",
    labelNames: ["provider"] as const,
    registers: [registry],
  });
  const unsupported = new Counter({
    name: "webhook_unsupported_total",
    help: "Verified webhooks (or parts of one) the provider plugin could not map, kept raw in the dead letters, by reason (unsupported_event, malformed).",
    labelNames: ["provider", "reason"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "webhook_response_duration_seconds",
    help: "Time from request start to response written, by provider and HTTP status code.",
    labelNames: ["provider", "code"] as const,
    buckets: RESPONSE_BUCKETS,
    registers: [registry],
  });
  const natsConnected = new Gauge({
    name: "webhook_nats_connected",
    help: "1 while the process is connected to NATS (and set up), else 0.",
    registers: [registry],
  });

  // Label-bound children, cached: prom-client would hash the label object on every call, and
  // this runs once per webhook. A child is made on first use, so no empty series appear.
  const receivedOf = bound((p, t) => received.labels(p, t));
  const queuedOf = bound((p, t) => queued.labels(p, t));
  const duplicateOf = bound((p, t) => duplicate.labels(p, t));
  const queuedEventsOf = bound((p) => queuedEvents.labels(p));
  const durationOf = bound((p, code) => duration.labels(p, code));
  const rejectedOf = bound((p, r) => rejected.labels(p, r));
  const unsupportedOf = bound((p, r) => unsupported.labels(p, r));

  function observe(result: IngestResult, seconds: number): void {
    const provider = labels.provider(result.provider);
    const type = labels.type(provider, result.type);
    receivedOf(provider, type).inc();
    durationOf(provider, labels.code(result.status)).observe(seconds);
    if (result.unmapped) for (const part of result.unmapped) unsupportedOf(provider, labels.unmapped(part.reason)).inc();
    switch (result.outcome) {
      case "accepted":
        queuedOf(provider, type).inc();
        queuedEventsOf(provider, "").inc(result.events ?? 0);
        break;
      case "duplicate":
        duplicateOf(provider, type).inc();
        break;
      case "dead_lettered":
        if (!result.unmapped) unsupportedOf(provider, labels.unmapped(result.reason ?? "")).inc();
        break;
      case "ignored":
      case "handshake":
        break;
      case "invalid_signature":
      case "expired":
      case "forbidden":
      case "upstream_unavailable":
        // Verification failures keep their finer reason (mismatch, missing_header, timestamp_too_old,
        // replayed, untrusted_key, not_allowed, key_unavailable, handshake_failed…).
        rejectedOf(provider, labels.reason(result.reason ?? result.outcome)).inc();
        break;
      default:
        rejectedOf(provider, labels.reason(result.outcome)).inc();
    }
  }

  return { registry, observe, natsConnected };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
