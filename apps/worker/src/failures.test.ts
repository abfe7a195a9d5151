import { describe, expect, it } from "vitest";
import { backoffDelay, describeError, isDatabaseUnavailable, isTransactionConflict } from "./failures.js";

const pgError = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("failure classification", () => {
  it("treats connection failures and an unavailable server as the database being down", () => {
    expect(isDatabaseUnavailable(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isDatabaseUnavailable(pgError("57P01", "terminating connection due to administrator command"))).toBe(true);
    expect(isDatabaseUnavailable(pgError("57P03", "the database system is starting up"))).toBe(true);
    expect(isDatabaseUnavailable(pgError("08006"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("wrapped", { cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }) }))).toBe(true);
  });

  it("treats a read-only server, a rotated password, a timeout, a missing table or permission as unavailable, not as bad data", () => {
    for (const code of ["25006", "28P01", "57014", "42P01", "42501", "3D000"]) expect(isDatabaseUnavailable(pgError(code))).toBe(true);
  });

  it("treats data errors as the data's fault", () => {
    expect(isDatabaseUnavailable(pgError("22021", "invalid byte sequence for encoding \"UTF8\": 0x00"))).toBe(false);
    expect(isDatabaseUnavailable(pgError("23505", "duplicate key"))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("cannot read properties of undefined"))).toBe(false);
    expect(isTransactionConflict(pgError("40P01"))).toBe(true);
    expect(isTransactionConflict(pgError("40001"))).toBe(true);
    expect(isTransactionConflict(pgError("22021"))).toBe(false);
  });

  it("describes errors in one line with their SQLSTATE", () => {
    expect(describeError(pgError("22021", "bad byte"))).toBe("Error 22021: bad byte");
    expect(describeError("plain")).toBe("plain");
  });
});

describe("backoffDelay", () => {
  const opts = { baseMs: 1000, maxMs: 30_000 };
  it("doubles per attempt within [d/2, d] and caps at the maximum", () => {
    expect(backoffDelay(1, opts, () => 0)).toBe(500);
    expect(backoffDelay(1, opts, () => 1)).toBe(1000);
    expect(backoffDelay(2, opts, () => 1)).toBe(2000);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(3000);
    expect(backoffDelay(20, opts, () => 1)).toBe(30_000);
  });

  it("spreads delays out (jitter)", () => {
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3, opts)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d).toBeGreaterThanOrEqual(2000);
  });
});
