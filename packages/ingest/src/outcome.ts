/**
 * Every way an incoming webhook can end, and the one place each maps to an HTTP status.
 * Expected outcomes are values; only faults worth a retry by the provider map to 5xx.
 */
export const OUTCOME_STATUS = {
  /** Verified, normalized and stored by JetStream. */
  accepted: 202,
  /** Verified; JetStream already held this delivery (a provider retry inside the dedup window). */
  duplicate: 200,
  /** Verified, but the provider's event carries no delivery status (e.g. Resend `contact.created`). */
  ignored: 200,
  /** Verified protocol message answered, no events (SNS subscription confirmed, unsubscription noted). */
  handshake: 200,
  /**
   * Verified, but the provider plugin cannot map it (an unknown event type or status, a body of
   * the wrong shape): kept raw in the dead letters, where an operator sees it and can replay it
   * after a plugin upgrade. Never bounced: a provider would retry for a day, then give up.
   */
  dead_lettered: 202,
  /** The body could not be read, or is not what the provider sends and no signature vouches for it. */
  malformed: 400,
  /** Signature missing, wrong, or made with a key we do not hold. */
  invalid_signature: 401,
  /** Signature timestamp outside the provider's tolerance (a replay or a badly skewed clock). */
  expired: 401,
  /** Authentic, but from a sender this gateway does not accept (an SNS topic not configured). */
  forbidden: 403,
  /** No provider with that id is configured. */
  unknown_provider: 404,
  /** A method the provider never uses (POST, and GET for Vonage receipts). */
  method_not_allowed: 405,
  /**
   * Body larger than the configured limit (answered before it is read when the length is
   * declared), or its events larger than one JetStream message (the server's max_payload).
   */
  too_large: 413,
  /** Content type the provider never sends. */
  unsupported_media_type: 415,
  /** JetStream refused the event because the stream is full: the provider must retry later. */
  queue_full: 503,
  /** JetStream unreachable or too slow to confirm within the deadline: the provider must retry. */
  queue_unavailable: 503,
  /**
   * Something the provider publishes could not be fetched now (its signing certificate, its
   * subscription confirmation endpoint): nothing was verified or stored, the provider must retry.
   */
  upstream_unavailable: 503,
} as const;

export type IngestOutcome = keyof typeof OUTCOME_STATUS;

/** The HTTP status an outcome is answered with. */
export function httpStatusFor(outcome: IngestOutcome): number {
  return OUTCOME_STATUS[outcome];
}

/** Outcomes after which the provider must retry: the event was not stored. */
export function isRetryable(outcome: IngestOutcome): boolean {
  return outcome === "queue_full" || outcome === "queue_unavailable" || outcome === "upstream_unavailable";
}
