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
  /** HTTP methods this provider uses; defaults to POST. */
  readonly methods?: readonly string[];
  /**
   * The 2xx this provider wants for a webhook taken in (Postmark and Mailgun: 200). The
   * outcome is unchanged; only the 2xx it is answered with.
   */
  readonly successStatus?: number;
  /** Verifies and maps a request; a promise only when the provider needed I/O to verify it. */
  handle(req: {
    body: Uint8Array;
    headers: Readonly<Record<string, string | string[] | undefined>>;
    url: string;
    method: string;
    now?: number;
  }): ProviderHandleResult | Promise<ProviderHandleResult>;
}

export type ProviderHandleResult =
  | {
      ok: true;
      id: string;
      events: NormalizedEvent[];
      /** Set when the request was a protocol message answered by the provider (no events). */
      handshake?: string;
      /** Forgets a single-use token the verification claimed: called when the events were not stored. */
      release?: () => void;
    }
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
  /**
   * Most events handed to the publisher in one call (default 500): a POST carrying thousands
   * (a SendGrid batch) is published in parts, all at once, and answered 2xx only when every
   * part is stored; if any part fails the provider retries the whole POST, and the parts
   * already stored are recognized by the ledger's dedup on event ids.
   */
  maxEventsPerPublish?: number;
}

export type Ingest = (req: IngestRequest) => Promise<IngestResult>;

const DEFAULT_CONTENT_TYPES = ["application/json"] as const;
const DEFAULT_METHODS = ["POST"] as const;

/** The outcome a refusal reason from a provider maps to (the status is then the outcome table's). */
function refusalOutcome(reason: string): IngestOutcome {
  switch (reason) {
    case "malformed":
    case "unsupported_event":
      return reason;
    case "timestamp_too_old":
    case "timestamp_too_new":
      return "expired";
    case "not_allowed":
      return "forbidden";
    case "key_unavailable":
    case "handshake_failed":
      return "upstream_unavailable";
    default:
      return "invalid_signature";
  }
}

function result(outcome: IngestOutcome, extra: Omit<IngestResult, "outcome" | "status">): IngestResult {
  return { outcome, status: httpStatusFor(outcome), ...extra };
}

/** A taken-in outcome answered with the provider's own 2xx, when it insists on one. */
function succeeded(provider: IngestProvider, outcome: IngestOutcome, extra: Omit<IngestResult, "outcome" | "status">): IngestResult {
  const r = result(outcome, extra);
  if (provider.successStatus !== undefined) r.status = provider.successStatus;
  return r;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
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
  const maxPerPublish = options.maxEventsPerPublish ?? 500;

  /** Publishes a webhook's events, in parts when there are many; duplicate only if every part was. */
  async function publishAll(subject: string, events: NormalizedEvent[], messageId: string): Promise<{ duplicate: boolean }> {
    if (events.length <= maxPerPublish) return publisher.publish(subject, events, messageId);
    const parts: Promise<{ duplicate: boolean }>[] = [];
    for (let i = 0; i < events.length; i += maxPerPublish) {
      parts.push(publisher.publish(subject, events.slice(i, i + maxPerPublish), i === 0 ? messageId : `${messageId}#${i / maxPerPublish}`));
    }
    const acks = await Promise.all(parts);
    return { duplicate: acks.every((a) => a.duplicate) };
  }

  return async function ingest(req: IngestRequest): Promise<IngestResult> {
    const provider = providers.get(req.provider);
    if (!provider) return result("unknown_provider", { detail: "no provider with this id is configured" });
    const id = provider.id;
    if (!(provider.methods ?? DEFAULT_METHODS).includes(req.method)) return result("method_not_allowed", { provider: id });
    if (req.body.byteLength > maxBodyBytes) {
      return result("too_large", { provider: id, detail: `body exceeds ${maxBodyBytes} bytes` });
    }
    const type = mediaType(req.headers["content-type"]);
    const accepted = provider.contentTypes ?? DEFAULT_CONTENT_TYPES;
    if (type === null || (type !== undefined && !accepted.includes(type))) {
      return result("unsupported_media_type", { provider: id, detail: `expected ${accepted.join(" or ")}` });
    }

    const pending = provider.handle({ body: req.body, headers: req.headers, url: req.url, method: req.method, now: now() });
    // Only a provider that needed I/O to verify (a certificate fetch) hands back a promise.
    const handled = isPromise(pending) ? await pending : pending;
    if (!handled.ok) {
      const { reason } = handled;
      return result(refusalOutcome(reason), { provider: id, reason, detail: handled.detail });
    }
    if (handled.handshake !== undefined) return succeeded(provider, "handshake", { provider: id, events: 0, messageId: handled.id, detail: handled.handshake });

    const { events } = handled;
    const eventType = events[0]?.type;
    if (eventType === undefined) return succeeded(provider, "ignored", { provider: id, events: 0, messageId: handled.id });

    const messageId = `${id}:${handled.id}`;
    try {
      const ack = await publishAll(subjectFor(id, eventType), events, messageId);
      return succeeded(provider, ack.duplicate ? "duplicate" : "accepted", { provider: id, type: eventType, events: events.length, normalized: events, messageId });
    } catch (err) {
      // Not stored: the provider will retry this delivery, with the same single-use token perhaps.
      handled.release?.();
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
