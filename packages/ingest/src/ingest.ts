import type { NormalizedEvent, UnmappedPart } from "@floodgate/provider-kit";
import { httpStatusFor, type IngestOutcome } from "./outcome.js";

/** Request headers as node gives them: names lower-case. */
export type IngestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What is known of a request before its body is read. */
export interface IngestHead {
  /** The provider id as it appears in the URL: untrusted until looked up. */
  provider: string;
  method: string;
  headers: IngestHeaders;
}

/** A request as any HTTP framework can describe it. Header names must be lower-case. */
export interface IngestRequest extends IngestHead {
  body: Uint8Array;
  /** Path and query as received, e.g. `/webhooks/telnyx?x=1` (providers that sign the URL need it). */
  url: string;
}

export interface IngestResult {
  outcome: IngestOutcome;
  /** The HTTP status to answer with. */
  status: number;
  /** Provider id when it was known (one of the configured ids, never the raw URL segment). */
  provider?: string;
  /** The provider's event type when the body was parsed. */
  type?: string;
  /** Finer reason for rejections (`mismatch`, `timestamp_too_old`, …) and dead letters (`unsupported_event`, `malformed`); safe to log and count. */
  reason?: string;
  /** Human-readable explanation; never contains secrets or payload data. */
  detail?: string;
  /** Number of normalized events the webhook carried. */
  events?: number;
  /** The events themselves (a reference, for debug logging of their ids). */
  normalized?: readonly NormalizedEvent[];
  /** Parts of an accepted multi-event webhook kept raw in the dead letters (a reference, for metrics). */
  unmapped?: readonly Pick<UnmappedPart, "reason">[];
  /** Delivery-level idempotency key, used as JetStream's `Nats-Msg-Id`. */
  messageId?: string;
}

/** What the ingest core needs from a verified provider plugin (a provider-kit runtime). */
export interface IngestProvider {
  readonly id: string;
  /** Name of its signature scheme, recorded with what it keeps raw (e.g. `ed25519`). */
  readonly scheme?: string;
  /** Media types this provider sends; defaults to JSON. */
  readonly contentTypes?: readonly string[];
  handle(req: { body: Uint8Array; headers: IngestHeaders; url: string; method: string; now?: number }): ProviderHandleResult;
}

/** The proof that a request's signature verified, and the delivery id it covered. */
export interface VerifiedProof {
  readonly id?: string;
}

/**
 * A provider's verdict. A failure carrying `verified` (reason `malformed` or
 * `unsupported_event`) verified but could not be mapped: it is kept, never bounced.
 */
export type ProviderHandleResult =
  | { ok: true; id: string; events: NormalizedEvent[]; unmapped?: readonly UnmappedPart[]; verified?: VerifiedProof }
  | { ok: false; reason: string; detail?: string; verified?: VerifiedProof };

/**
 * Stores a webhook's events durably; resolves only once the queue has acknowledged them.
 * `deliveryId` (`<provider>:<delivery id>`) is the idempotency key of the whole webhook.
 */
export interface EventPublisher {
  publish(subject: string, events: NormalizedEvent[], deliveryId: string): Promise<{ duplicate: boolean }>;
}

/** A verified body (or part of one) the provider plugin could not map. */
export interface UnmappedWebhook {
  provider: string;
  reason: UnmappedPart["reason"];
  detail: string;
  body: Uint8Array;
  /** The delivery id the signature covered, when the scheme has one. */
  deliveryId?: string;
  contentType?: string;
  /** The signature scheme that verified it. */
  verifiedBy: string;
}

/** Keeps what verified but could not be mapped where an operator sees it (the dead letters). */
export interface DeadLetterStore {
  /** Resolves once the queue has durably stored it; rejects like {@link EventPublisher.publish}. */
  keep(webhook: UnmappedWebhook): Promise<void>;
}

/** Publish failures the core tells apart; anything else is `queue_unavailable`. */
export type PublishFailure = "queue_full" | "queue_unavailable" | "too_large";

export interface IngestOptions {
  providers: ReadonlyMap<string, IngestProvider> | { get(id: string): IngestProvider | undefined };
  publisher: EventPublisher;
  deadLetters: DeadLetterStore;
  /** Builds the subject for a webhook, e.g. `webhook.telnyx.message_finalized`. */
  subjectFor(provider: string, type: string): string;
  /** Largest body accepted, in bytes. */
  maxBodyBytes: number;
  /** Injectable clock, epoch ms. */
  now?: () => number;
  /**
   * Classifies a publish failure: `queue_full` when the stream refused, `too_large` when the
   * message exceeds what one JetStream message may hold, otherwise `queue_unavailable`.
   */
  classifyPublishError?: (err: unknown) => PublishFailure;
}

/** The ingest core: call it with a request whose body was read; `admit` first, before reading. */
export interface Ingest {
  (req: IngestRequest): Promise<IngestResult>;
  /**
   * Checks what can be checked before the body is read — the provider first, then the method,
   * the declared length and the content type — and returns the answer when one of them fails.
   * Adapters call it first and leave the body unread on a result, so no request can make the
   * gateway read (or buffer) a body for a provider it does not serve.
   */
  admit(head: IngestHead): IngestResult | undefined;
}

const VERIFY_REASONS_EXPIRED = new Set(["timestamp_too_old", "timestamp_too_new"]);
const DEFAULT_CONTENT_TYPES = ["application/json"] as const;

function result(outcome: IngestOutcome, extra: Omit<IngestResult, "outcome" | "status">): IngestResult {
  return { outcome, status: httpStatusFor(outcome), ...extra };
}

/** `application/json; charset=utf-8` → `application/json`. */
function mediaType(header: string | string[] | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) return null;
  if (header === "application/json") return header;
  const semi = header.indexOf(";");
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function defaultClassify(err: unknown): PublishFailure {
  if (!(err instanceof Error)) return "queue_unavailable";
  return err.name === "QueueFullError" ? "queue_full" : err.name === "QueueMessageTooLargeError" ? "too_large" : "queue_unavailable";
}

function declaredLength(headers: IngestHeaders): number | undefined {
  const value = headers["content-length"];
  return typeof value === "string" ? Number(value) : undefined;
}

function isUnmappable(reason: string): reason is UnmappedPart["reason"] {
  return reason === "malformed" || reason === "unsupported_event";
}

/**
 * Creates the framework-free ingest core: from (provider id, raw body, headers, url) to an
 * outcome. It verifies, normalizes and publishes, and reports `accepted` only after the
 * publisher has confirmed that JetStream stored the webhook. What verifies but cannot be mapped
 * is kept raw in the dead letters (`dead_lettered`, 2xx only once stored), never bounced.
 */
export function createIngest(options: IngestOptions): Ingest {
  const { providers, publisher, deadLetters, subjectFor, maxBodyBytes } = options;
  const now = options.now ?? Date.now;
  const classify = options.classifyPublishError ?? defaultClassify;

  function admit(head: IngestHead): IngestResult | undefined {
    const provider = providers.get(head.provider);
    // No provider label: the URL segment is whatever a client sent.
    if (!provider) return result("unknown_provider", { detail: "no provider with this id is configured" });
    const id = provider.id;
    if (head.method !== "POST") return result("method_not_allowed", { provider: id });
    const declared = declaredLength(head.headers);
    if (declared !== undefined && declared > maxBodyBytes) return result("too_large", { provider: id, detail: `body exceeds ${maxBodyBytes} bytes` });
    const type = mediaType(head.headers["content-type"]);
    const accepted = provider.contentTypes ?? DEFAULT_CONTENT_TYPES;
    if (type === null || (type !== undefined && !accepted.includes(type))) {
      return result("unsupported_media_type", { provider: id, detail: `expected ${accepted.join(" or ")}` });
    }
    return undefined;
  }

  function failed(err: unknown, extra: Omit<IngestResult, "outcome" | "status">): IngestResult {
    return result(classify(err), {
      ...extra,
      reason: err instanceof Error ? err.name : "error",
      detail: err instanceof Error ? err.message : String(err),
    });
  }

  function unmappedWebhook(provider: IngestProvider, req: IngestRequest, part: Pick<UnmappedPart, "reason" | "detail" | "body">, verified: VerifiedProof): UnmappedWebhook {
    const contentType = req.headers["content-type"];
    return {
      provider: provider.id,
      reason: part.reason,
      detail: part.detail,
      body: part.body,
      ...(verified.id !== undefined ? { deliveryId: verified.id } : {}),
      ...(typeof contentType === "string" ? { contentType } : {}),
      verifiedBy: provider.scheme ?? "signature",
    };
  }

  /** A verified body the plugin could not map at all: kept raw, answered 2xx once stored. */
  async function keepWhole(provider: IngestProvider, req: IngestRequest, reason: UnmappedPart["reason"], detail: string, verified: VerifiedProof): Promise<IngestResult> {
    const id = provider.id;
    const messageId = verified.id !== undefined ? `${id}:${verified.id}` : undefined;
    try {
      await deadLetters.keep(unmappedWebhook(provider, req, { reason, detail, body: req.body }, verified));
      return result("dead_lettered", { provider: id, reason, detail, messageId });
    } catch (err) {
      return failed(err, { provider: id, messageId });
    }
  }

  /** Publishes the events and keeps every unmapped part; 2xx only when all of it is stored. */
  async function store(provider: IngestProvider, req: IngestRequest, handled: Extract<ProviderHandleResult, { ok: true }>): Promise<IngestResult> {
    const { events, unmapped } = handled;
    const id = provider.id;
    const messageId = `${id}:${handled.id}`;
    const eventType = events[0]?.type;
    const publishing = eventType === undefined ? undefined : publisher.publish(subjectFor(id, eventType), events, messageId);
    try {
      if (unmapped !== undefined && unmapped.length > 0) {
        const verified = handled.verified ?? {};
        await Promise.all([publishing, ...unmapped.map((part) => deadLetters.keep(unmappedWebhook(provider, req, part, verified)))]);
      }
      const ack = await publishing;
      if (ack === undefined) return result("dead_lettered", { provider: id, reason: unmapped![0]!.reason, events: 0, unmapped, messageId });
      return result(ack.duplicate ? "duplicate" : "accepted", { provider: id, type: eventType, events: events.length, normalized: events, unmapped, messageId });
    } catch (err) {
      // Whichever store failed, the provider retries the whole webhook: the parts already stored
      // are recognized again (the ledger for events, the body digest for dead letters).
      return failed(err, { provider: id, type: eventType, events: events.length, messageId });
    }
  }

  async function ingest(req: IngestRequest): Promise<IngestResult> {
    const refused = admit(req);
    if (refused) return refused;
    const provider = providers.get(req.provider)!;
    const id = provider.id;
    if (req.body.byteLength > maxBodyBytes) return result("too_large", { provider: id, detail: `body exceeds ${maxBodyBytes} bytes` });

    const handled = provider.handle({ body: req.body, headers: req.headers, url: req.url, method: req.method, now: now() });
    if (!handled.ok) {
      const { reason } = handled;
      if (isUnmappable(reason)) {
        if (handled.verified) return keepWhole(provider, req, reason, handled.detail ?? reason, handled.verified);
        return result("malformed", { provider: id, reason, detail: handled.detail });
      }
      const outcome: IngestOutcome = VERIFY_REASONS_EXPIRED.has(reason) ? "expired" : "invalid_signature";
      return result(outcome, { provider: id, reason, detail: handled.detail });
    }
    if (handled.events.length === 0 && (handled.unmapped === undefined || handled.unmapped.length === 0)) {
      return result("ignored", { provider: id, events: 0, messageId: handled.id });
    }
    return store(provider, req, handled);
  }

  return Object.assign(ingest, { admit });
}
