import { verifyFailure, type RequestHeaders, type VerifyFailure } from "./verification.js";

/**
 * Reads one signature-relevant header. A header that is absent or empty yields
 * `missing_header`; one that arrives several times (an array of more than one value) yields
 * `bad_encoding`: an attacker-controlled duplicate must never let us pick the convenient copy.
 * A one-element array is unwrapped.
 */
export function readHeader(headers: RequestHeaders, name: string): string | VerifyFailure {
  const value = headers[name];
  if (typeof value === "string") {
    return value.length === 0 ? verifyFailure("missing_header", `header ${name} is empty`) : value;
  }
  if (value === undefined || value === null) return verifyFailure("missing_header", `header ${name} is missing`);
  if (Array.isArray(value)) {
    if (value.length === 0) return verifyFailure("missing_header", `header ${name} is missing`);
    if (value.length > 1) return verifyFailure("bad_encoding", `header ${name} is repeated ${value.length} times`);
    const only: unknown = value[0];
    if (typeof only !== "string") return verifyFailure("bad_encoding", `header ${name} is not a string`);
    return only.length === 0 ? verifyFailure("missing_header", `header ${name} is empty`) : only;
  }
  return verifyFailure("bad_encoding", `header ${name} is not a string`);
}

/**
 * Like {@link readHeader} over several names, first present wins (e.g. `svix-id` before
 * `webhook-id`). Reports the first name when none is present.
 */
export function readFirstHeader(headers: RequestHeaders, names: readonly string[]): string | VerifyFailure {
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (headers[name] !== undefined) return readHeader(headers, name);
  }
  return verifyFailure("missing_header", `header ${names.join(" or ")} is missing`);
}
