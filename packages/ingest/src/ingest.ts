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
  /** HTTP methods this provider uses; defaults to POST. */
  readonly methods?: readonly string[];
  /**
   * The 2xx this provider wants for a webhook taken in (Postmark and Mailgun: 200). The outcome
   * is unchanged; only the 2xx it is answered with.
   */
  readonly successStatus?: number;
  /** Verifies and maps a request; a promise only when the provider needed I/O to verify it. */
  handle(req: { body: Uint8Array; headers: IngestHeaders; url: string; method: string; now?: number }): ProviderHandleResult | Promise<ProviderHandleResult>;
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
  | {
      ok: true;
      id: string;
      events: NormalizedEvent[];
      unmapped?: readonly UnmappedPart[];
      verified?: VerifiedProof;
      /** Set when the request was a protocol message the provider answered (no events). */
      handshake?: string;
      /** Forgets a single-use token the verification claimed: called when nothing was stored. */
      release?: () => void;
    }
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
  /**
   * Most events handed to the publisher in one call (default 500): a POST carrying thousands
   * (a SendGrid batch) is published in parts, all at once, and answered 2xx only when every
   * part is stored; if any part fails the provider retries the whole POST, and the parts
   * already stored are recognized by the ledger's dedup on event ids.
   */
  maxEventsPerPublish?: number;
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

const DEFAULT_CONTENT_TYPES = ["application/json"] as const;
const DEFAULT_METHODS = ["POST"] as const;
const FORM = "application/x-www-form-urlencoded";

/** The outcome a verification failure maps to (the status is then the outcome table's). */
function refusalOutcome(reason: string): IngestOutcome {
  switch (reason) {
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

/** An outcome that took the webhook in, answered with the provider's own 2xx when it insists on one. */
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

  function admit(head: IngestHead): IngestResult | undefined {
    const provider = providers.get(head.provider);
    // No provider label: the URL segment is whatever a client sent.
    if (!provider) return result("unknown_provider", { detail: "no provider with this id is configured" });
    const id = provider.id;
    if (!(provider.methods ?? DEFAULT_METHODS).includes(head.method)) return result("method_not_allowed", { provider: id });
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
    // A GET (Vonage receipts) carries its parameters in the query: keep them as a form body, which
    // the plugin reads the same way at replay.
    const query = req.method === "GET" ? req.url.indexOf("?") : -1;
    const body = query === -1 ? part.body : Buffer.from(req.url.slice(query + 1), "latin1");
    const contentType = query === -1 ? req.headers["content-type"] : FORM;
    return {
      provider: provider.id,
      reason: part.reason,
      detail: part.detail,
      body,
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
      return succeeded(provider, "dead_lettered", { provider: id, reason, detail, messageId });
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
    const publishing = eventType === undefined ? undefined : publishAll(subjectFor(id, eventType), events, messageId);
    try {
      if (unmapped !== undefined && unmapped.length > 0) {
        const verified = handled.verified ?? {};
        await Promise.all([publishing, ...unmapped.map((part) => deadLetters.keep(unmappedWebhook(provider, req, part, verified)))]);
      }
      const ack = await publishing;
      if (ack === undefined) return succeeded(provider, "dead_lettered", { provider: id, reason: unmapped![0]!.reason, events: 0, unmapped, messageId });
      return succeeded(provider, ack.duplicate ? "duplicate" : "accepted", { provider: id, type: eventType, events: events.length, normalized: events, unmapped, messageId });
    } catch (err) {
      // Not stored: the provider will retry this delivery, with the same single-use token perhaps.
      handled.release?.();
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

    const pending = provider.handle({ body: req.body, headers: req.headers, url: req.url, method: req.method, now: now() });
    // Only a provider that needed I/O to verify (a certificate fetch) hands back a promise.
    const handled = isPromise(pending) ? await pending : pending;
    if (!handled.ok) {
      const { reason } = handled;
      if (isUnmappable(reason)) {
        if (handled.verified) return keepWhole(provider, req, reason, handled.detail ?? reason, handled.verified);
        return result("malformed", { provider: id, reason, detail: handled.detail });
      }
      return result(refusalOutcome(reason), { provider: id, reason, detail: handled.detail });
    }
    if (handled.handshake !== undefined) return succeeded(provider, "handshake", { provider: id, events: 0, messageId: handled.id, detail: handled.handshake });
    if (handled.events.length === 0 && (handled.unmapped === undefined || handled.unmapped.length === 0)) {
      return succeeded(provider, "ignored", { provider: id, events: 0, messageId: handled.id });
    }
    return store(provider, req, handled);
  }

  return Object.assign(ingest, { admit });
}
