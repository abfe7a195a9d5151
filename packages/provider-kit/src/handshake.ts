import type { FetchLike } from "./schemes/scheme.js";

/** What a provider's `handshake` hook gets besides the verified, parsed body. */
export interface HandshakeContext {
  /** The provider id. */
  readonly provider: string;
  /** The delivery id the signature covered, when the scheme has one. */
  readonly deliveryId: string | undefined;
  /** For the confirmation call; injectable so tests run offline. */
  readonly fetch: FetchLike;
  /** When the request arrived, epoch ms. */
  readonly receivedAt: number;
}

/**
 * A protocol message answered (a subscription confirmed, an unsubscription noted): no events,
 * and `handshake` says what happened, for the logs.
 */
export interface HandshakeDone {
  ok: true;
  id: string;
  events: [];
  handshake: string;
  /** Never set: a handshake has no parts to keep. */
  unmapped?: undefined;
}

/** A protocol message that could not be completed now (the confirmation call failed): the provider should retry. */
export interface HandshakeFailure {
  ok: false;
  reason: "handshake_failed";
  detail: string;
}

export type HandshakeResult = HandshakeDone | HandshakeFailure;

/** A completed handshake. */
export function handshakeDone(id: string, handshake: string): HandshakeDone {
  return { ok: true, id, events: [], handshake };
}

/** A handshake that failed for now. */
export function handshakeFailed(detail: string): HandshakeFailure {
  return { ok: false, reason: "handshake_failed", detail };
}
