import { describe, expect, it } from "vitest";
import { readFirstHeader, readHeader } from "./headers.js";
import { checkTimestamp, parseTimestampSeconds } from "./timestamp.js";

describe("readHeader", () => {
  it("returns the value, and typed failures for absent, empty, repeated and non-string headers", () => {
    expect(readHeader({ a: "1" }, "a")).toBe("1");
    expect(readHeader({ a: ["1"] }, "a")).toBe("1");
    expect(readHeader({}, "a")).toMatchObject({ reason: "missing_header" });
    expect(readHeader({ a: "" }, "a")).toMatchObject({ reason: "missing_header" });
    expect(readHeader({ a: [] }, "a")).toMatchObject({ reason: "missing_header" });
    expect(readHeader({ a: [""] }, "a")).toMatchObject({ reason: "missing_header" });
    expect(readHeader({ a: ["1", "1"] }, "a")).toMatchObject({ reason: "bad_encoding" });
    expect(readHeader({ a: 5 as never }, "a")).toMatchObject({ reason: "bad_encoding" });
    expect(readHeader({ a: [5] as never }, "a")).toMatchObject({ reason: "bad_encoding" });
  });

  it("readFirstHeader prefers the first present name", () => {
    expect(readFirstHeader({ b: "2", a: "1" }, ["a", "b"])).toBe("1");
    expect(readFirstHeader({ b: "2" }, ["a", "b"])).toBe("2");
    expect(readFirstHeader({}, ["a", "b"])).toMatchObject({ reason: "missing_header", detail: "header a or b is missing" });
  });
});

describe("timestamps", () => {
  it("parses only plain decimal integers", () => {
    expect(parseTimestampSeconds("1700000000", "t")).toBe(1700000000);
    expect(parseTimestampSeconds("0", "t")).toBe(0);
    for (const bad of ["", "-1", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "１", "9".repeat(13)]) {
      expect(parseTimestampSeconds(bad, "t")).toMatchObject({ reason: "bad_encoding" });
    }
  });

  it("passes exactly the tolerance and fails one second beyond, both ways", () => {
    const now = 1_700_000_000_000;
    expect(checkTimestamp(1_700_000_000 - 300, now, 300)).toBeUndefined();
    expect(checkTimestamp(1_700_000_000 + 300, now, 300)).toBeUndefined();
    expect(checkTimestamp(1_700_000_000 - 301, now, 300)).toMatchObject({ reason: "timestamp_too_old" });
    expect(checkTimestamp(1_700_000_000 + 301, now, 300)).toMatchObject({ reason: "timestamp_too_new" });
  });
});
