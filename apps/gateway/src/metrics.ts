import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { IngestResult } from "@floodgate/ingest";

/** Response-time buckets (seconds) resolving 1–100 ms finely, with a tail to 10 s. */
export const RESPONSE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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

/** The gateway's Prometheus metrics. Label values are bounded: unknown providers become `unknown`. */
export function createGatewayMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const received = new Counter({
    name: "webhook_received_total",
    help: "Webhooks received, by provider and event type (type is `unknown` when the body was not parsed).",
    labelNames: ["provider", "type"] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: "webhook_rejected_total",
    help: "Webhooks answered without being queued, by provider and reason (outcome or verification reason).",
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
  const duration = new Histogram({
    name: "webhook_response_duration_seconds",
    help: "Time from request start to response written, by provider and HTTP status code.",
    labelNames: ["provider", "code"] as const,
    buckets: RESPONSE_BUCKETS,
    registers: [registry],
  });
  const natsConnected = new Gauge({
    name: "webhook_nats_connected",
    help: "1 while the process is connected to NATS, else 0.",
    registers: [registry],
  });

  // Label-bound children, cached: prom-client would hash the label object on every call, and
  // this runs once per webhook. A child is made on first use, so no empty series appear.
  const receivedOf = bound((p, t) => received.labels(p, t));
  const queuedOf = bound((p, t) => queued.labels(p, t));
  const duplicateOf = bound((p, t) => duplicate.labels(p, t));
  const queuedEventsOf = bound((p) => queuedEvents.labels(p));
  const durationOf = bound((p, code) => duration.labels(p, code));

  function observe(result: IngestResult, seconds: number): void {
    const provider = result.provider ?? "unknown";
    const type = result.type ?? "unknown";
    receivedOf(provider, type).inc();
    durationOf(provider, String(result.status)).observe(seconds);
    if (result.outcome === "accepted") {
      queuedOf(provider, type).inc();
      queuedEventsOf(provider, "").inc(result.events ?? 0);
    } else if (result.outcome === "duplicate") {
      duplicateOf(provider, type).inc();
    } else if (result.outcome !== "ignored" && result.outcome !== "handshake") {
      // Verification failures keep their finer reason (mismatch, missing_header, timestamp_too_old,
      // replayed, not_allowed, key_unavailable…).
      const signature =
        result.outcome === "invalid_signature" || result.outcome === "expired" || result.outcome === "forbidden" || result.outcome === "upstream_unavailable";
      rejected.inc({ provider, reason: signature ? (result.reason ?? result.outcome) : result.outcome });
    }
  }

  return { registry, observe, natsConnected };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
