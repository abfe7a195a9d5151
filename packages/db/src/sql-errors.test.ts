import { describe, expect, it } from "vitest";
import { classifyDatabaseError, classifySqlState } from "./sql-errors.js";

const pgError = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("classifyDatabaseError", () => {
  it.each([
    ["22021", "invalid byte sequence (NUL)"],
    ["22001", "value too long"],
    ["22P02", "invalid text representation"],
    ["23505", "unique violation"],
    ["23514", "check violation"],
    ["54000", "index row size exceeds maximum"],
    ["P0001", "RAISE EXCEPTION in a trigger checking the row"],
    ["P0004", "ASSERT in a trigger"],
  ])("%s (%s) is the event's own data", (code) => {
    expect(classifySqlState(code)).toBe("data");
    expect(classifyDatabaseError(pgError(code))).toBe("data");
  });

  it.each([
    ["40001", "serialization failure"],
    ["40P01", "deadlock"],
  ])("%s (%s) is a conflict, retried at once", (code) => {
    expect(classifyDatabaseError(pgError(code))).toBe("conflict");
  });

  it.each([
    ["28P01", "password authentication failed (rotation)"],
    ["28000", "invalid authorization"],
    ["25006", "read-only transaction (failover to a replica)"],
    ["57014", "statement timeout"],
    ["57P01", "terminated by administrator"],
    ["57P03", "starting up"],
    ["42P01", "undefined table"],
    ["42501", "insufficient privilege"],
    ["3D000", "database dropped"],
    ["53300", "too many connections"],
    ["53100", "disk full"],
    ["58030", "I/O error"],
    ["08006", "connection failure"],
    ["42703", "undefined column: schema not as expected"],
    ["XX000", "internal error"],
  ])("%s (%s) means the database cannot take the write now", (code) => {
    expect(classifyDatabaseError(pgError(code))).toBe("unavailable");
  });

  // PgBouncer answers for PostgreSQL while it is away, with errors of its own, all SQLSTATE 08P01
  // (texts of PgBouncer 1.18, as Debian ships it, and later versions).
  it.each([
    "server login has been failing, try again later (server_login_retry)",
    "server login has been failing, cached error: connect failed (server_login_retry)",
    "server login failed: FATAL the database system is shutting down",
    "client_login_timeout (server down)",
    "query_wait_timeout",
    "server conn crashed?",
    "pgbouncer cannot connect to server",
    "no more connections allowed (max_client_conn)",
  ])("PgBouncer's %j (08P01) means the database cannot take the write now", (message) => {
    expect(classifyDatabaseError(pgError("08P01", message))).toBe("unavailable");
  });

  it.each([
    ["26000", 'prepared statement "floodgate_apply_matched" does not exist'],
    ["42P05", 'prepared statement "floodgate_apply_matched" already exists'],
  ])("%s (%s: named statements through a transaction pooler) holds the work, never dead-letters it", (code, message) => {
    expect(classifyDatabaseError(pgError(code, message))).toBe("unavailable");
  });

  it("recognizes lost connections without a SQLSTATE, through cause chains", () => {
    expect(classifyDatabaseError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))).toBe("unavailable");
    expect(classifyDatabaseError(new Error("Connection terminated unexpectedly"))).toBe("unavailable");
    expect(classifyDatabaseError(new Error("Client has encountered a connection error and is not queryable"))).toBe("unavailable");
    expect(classifyDatabaseError(new Error("timeout exceeded when trying to connect"))).toBe("unavailable");
    expect(classifyDatabaseError(new Error("wrapped", { cause: pgError("25006") }))).toBe("unavailable");
    expect(classifyDatabaseError(new Error("wrapped", { cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }) }))).toBe("unavailable");
  });

  it("treats any other error as a fault of the batch's data", () => {
    expect(classifyDatabaseError(new TypeError("cannot read properties of undefined"))).toBe("data");
    expect(classifyDatabaseError("a string")).toBe("data");
    expect(classifyDatabaseError(undefined)).toBe("data");
  });
});
