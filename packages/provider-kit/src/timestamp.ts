import { verifyFailure, type VerifyFailure } from "./verification.js";

/** Longest accepted timestamp: 12 digits is the year 33658, far beyond any real clock. */
const MAX_TIMESTAMP_DIGITS = 12;

/**
 * Parses a Unix-seconds timestamp header. Only a plain decimal integer is accepted: no sign,
 * no spaces, no fraction, no exponent, at most 12 digits. Anything else is `bad_encoding`.
 */
export function parseTimestampSeconds(value: string, header: string): number | VerifyFailure {
  const length = value.length;
  if (length === 0 || length > MAX_TIMESTAMP_DIGITS) {
    return verifyFailure("bad_encoding", `header ${header} is not a decimal Unix timestamp`);
  }
  let seconds = 0;
  for (let i = 0; i < length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return verifyFailure("bad_encoding", `header ${header} is not a decimal Unix timestamp`);
    seconds = seconds * 10 + digit;
  }
  return seconds;
}

/**
 * Checks a timestamp against the clock, both ways. The clock is truncated to whole seconds, as
 * the provider SDKs do, so a delivery exactly `toleranceSeconds` old or ahead passes and one
 * second more fails.
 */
export function checkTimestamp(seconds: number, nowMs: number, toleranceSeconds: number): VerifyFailure | undefined {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (nowSeconds - seconds > toleranceSeconds) {
    return verifyFailure("timestamp_too_old", `timestamp is ${nowSeconds - seconds} s old, tolerance ${toleranceSeconds} s`);
  }
  if (seconds - nowSeconds > toleranceSeconds) {
    return verifyFailure("timestamp_too_new", `timestamp is ${seconds - nowSeconds} s ahead, tolerance ${toleranceSeconds} s`);
  }
  return undefined;
}

/** Throws unless `value` is a usable tolerance (a non-negative integer number of seconds). */
export function isValidTolerance(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 86_400 * 365;
}
