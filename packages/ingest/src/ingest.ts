import type { NormalizedEvent } from "@floodgate/provider-kit";
import { httpStatusFor, type IngestOutcome } from "./outcome.js";

/** A request as any HTTP framework can describe it. Header names must be lower-case. */
export interface IngestRequest {
  provider: string;
  body: Uint8Array;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Path and query as received, e.g. `/webhooks/telnyx?x=1` (providers that sign the URL need it). */
  url: string;
  method: string;
}

export interface IngestResult {
  outcome: IngestOutcome;
  /** The HTTP status to answer with. */
  status: number;
  /** Provider id when it was known. */
  provider?: string;
  /** The provider's event type when the body was parsed. */
  type?: string;
  /** Finer reason for rejections (`mismatch`, `timestamp_too_old`, …); safe to log and count. */
  reason?: string;
  /** Human-readable explanation; never contains secrets or payload data. */
  detail?: string;
  /** Number of normalized events the webhook carried. */
  events?: number;
  /** The events themselves (a reference, for debug logging of their ids). */
  normalized?: readonly NormalizedEvent[];
  /** Delivery-level idempotency key, used as JetStream's `Nats-Msg-Id`. */
  messageId?: string;
}

/** What the ingest core needs from a verified provider plugin (a provider-kit runtime). */
export interface IngestProvider {
  readonly id: string;
  /** Media types this provider sends; defaults to JSON. */
  readonly contentTypes?: readonly string[];
  handle(req: {
    body: Uint8Array;
    headers: Readonly<Record<string, string | string[] | undefined>>;
    url: string;
    method: string;
    now?: number;
  }): ProviderHandleResult;
}

export type ProviderHandleResult =
  | { ok: true; id: string; events: NormalizedEvent[] }
  | { ok: false; reason: string; detail?: string };

/**
 * Stores a webhook's events durably; resolves only once the queue has acknowledged them.
 * `deliveryId` (`<provider>:<delivery id>`) is the idempotency key of the whole webhook.
 */
export interface EventPublisher {
  publish(subject: string, events: NormalizedEvent[], deliveryId: string): Promise<{ duplicate: boolean }>;
}

export interface IngestOptions {
  providers: ReadonlyMap<string, IngestProvider> | { get(id: string): IngestProvider | undefined };
  publisher: EventPublisher;
  /** Builds the subject for a webhook, e.g. `webhook.telnyx.message_finalized`. */
  subjectFor(provider: string, type: string): string;
  /** Largest body accepted, in bytes. */
  maxBodyBytes: number;
  /** Injectable clock, epoch ms. */
  now?: () => number;
  /** Classifies a publish failure; `queue_full` when the stream refused, otherwise `queue_unavailable`. */
  classifyPublishError?: (err: unknown) => "queue_full" | "queue_unavailable";
}

export type Ingest = (req: IngestRequest) => Promise<IngestResult>;

const VERIFY_REASONS_EXPIRED = new Set(["timestamp_too_old", "timestamp_too_new"]);
const DEFAULT_CONTENT_TYPES = ["application/json"] as const;

function result(outcome: IngestOutcome, extra: Omit<IngestResult, "outcome" | "status">): IngestResult {
  return { outcome, status: httpStatusFor(outcome), ...extra };
}

/** `application/json; charset=utf-8` → `application/json`. */
function mediaType(header: string | string[] | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) return null;
  const semi = header.indexOf(";");
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function defaultClassify(err: unknown): "queue_full" | "queue_unavailable" {
  return err instanceof Error && err.name === "QueueFullError" ? "queue_full" : "queue_unavailable";
}

/**
 * Creates the framework-free ingest core: from (provider id, raw body, headers, url) to an
 * outcome. It verifies, normalizes and publishes, and reports `accepted` only after the
 * publisher has confirmed that JetStream stored the webhook.
 */
export function createIngest(options: IngestOptions): Ingest {
  const { providers, publisher, subjectFor, maxBodyBytes } = options;
  const now = options.now ?? Date.now;
  const classify = options.classifyPublishError ?? defaultClassify;

  return async function ingest(req: IngestRequest): Promise<IngestResult> {
    const provider = providers.get(req.provider);
    if (!provider) return result("unknown_provider", { detail: "no provider with this id is configured" });
    const id = provider.id;
    if (req.method !== "POST") return result("method_not_allowed", { provider: id });
    if (req.body.byteLength > maxBodyBytes) {
      return result("too_large", { provider: id, detail: `body exceeds ${maxBodyBytes} bytes` });
    }
    const type = mediaType(req.headers["content-type"]);
    const accepted = provider.contentTypes ?? DEFAULT_CONTENT_TYPES;
    if (type === null || (type !== undefined && !accepted.includes(type))) {
      return result("unsupported_media_type", { provider: id, detail: `expected ${accepted.join(" or ")}` });
    }

    const handled = provider.handle({ body: req.body, headers: req.headers, url: req.url, method: req.method, now: now() });
    if (!handled.ok) {
      const { reason } = handled;
      const outcome: IngestOutcome =
        reason === "malformed" || reason === "unsupported_event"
          ? reason
          : VERIFY_REASONS_EXPIRED.has(reason)
            ? "expired"
            : "invalid_signature";
      return result(outcome, { provider: id, reason, detail: handled.detail });
    }

    const { events } = handled;
    const eventType = events[0]?.type;
    if (eventType === undefined) return result("ignored", { provider: id, events: 0, messageId: handled.id });

    const messageId = `${id}:${handled.id}`;
    try {
      const ack = await publisher.publish(subjectFor(id, eventType), events, messageId);
      return result(ack.duplicate ? "duplicate" : "accepted", { provider: id, type: eventType, events: events.length, normalized: events, messageId });
    } catch (err) {
      const outcome = classify(err);
      return result(outcome, {
        provider: id,
        type: eventType,
        events: events.length,
        messageId,
        reason: err instanceof Error ? err.name : "error",
        detail: err instanceof Error ? err.message : String(err),
      });
    }
  };
}
