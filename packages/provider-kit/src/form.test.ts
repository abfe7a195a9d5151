import { describe, expect, it } from "vitest";
import { parseBody } from "./body.js";
import { formValues, parseForm, parseQuery, queryOf } from "./form.js";

const ok = (input: string | Uint8Array) => {
  const r = parseForm(input);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
};

describe("parseForm", () => {
  it("decodes names and values: + is a space, %XX a byte, UTF-8 after decoding", () => {
    expect({ ...ok("a=1&b=hello+world&c=%2B1%20555&d=%C3%A9t%C3%A9&e=") }).toEqual({ a: "1", b: "hello world", c: "+1 555", d: "été", e: "" });
  });

  it("keeps a repeated name's values in order, as an array", () => {
    expect(ok("x=1&y=2&x=3&x=1").x).toEqual(["1", "3", "1"]);
    expect(formValues(ok("x=1&x=2"), "x")).toEqual(["1", "2"]);
    expect(formValues(ok("x=1"), "x")).toEqual(["1"]);
    expect(formValues(ok("x=1"), "y")).toEqual([]);
  });

  it("skips empty segments, reads a name without = as empty, accepts raw UTF-8 bytes", () => {
    expect({ ...ok("&&a=1&&flag&") }).toEqual({ a: "1", flag: "" });
    expect({ ...ok(Buffer.from("n=ça", "utf8")) }).toEqual({ n: "ça" });
    expect({ ...ok("") }).toEqual({});
  });

  it("has no prototype: __proto__ and constructor are plain keys", () => {
    const params = ok("__proto__=x&constructor=y&toString=z");
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect(params.__proto__).toBe("x");
    expect(params.constructor).toBe("y");
  });

  it.each(["a=%", "a=%2", "a=%zz", "a%g0=1", "a=%FF", "a=%C3", Buffer.from([0x61, 0x3d, 0xff])])("refuses a bad escape or bad UTF-8: %j", (input) => {
    expect(parseForm(input)).toMatchObject({ ok: false });
  });
});

describe("query strings and params bodies", () => {
  it("reads the query of a path-and-query, without the fragment", () => {
    expect(queryOf("/x?a=1&b=2#frag")).toBe("a=1&b=2");
    expect(queryOf("/x")).toBe("");
    expect(parseQuery("/x?a=1+2")).toMatchObject({ ok: true, value: { a: "1 2" } });
  });

  it("params: GET reads the query, POST a JSON object or a form", () => {
    expect(parseBody("params", { body: new Uint8Array(), url: "/v?a=1", method: "GET" })).toMatchObject({ ok: true, value: { a: "1" } });
    expect(parseBody("params", { body: Buffer.from(' {"a":"1","n":{"x":1}}'), url: "/v", method: "POST" })).toMatchObject({ ok: true, value: { a: "1", n: { x: 1 } } });
    expect(parseBody("params", { body: Buffer.from("a=1"), url: "/v", method: "POST" })).toMatchObject({ ok: true, value: { a: "1" } });
    expect(parseBody("params", { body: Buffer.from("[1]"), url: "/v", method: "POST" })).toMatchObject({ ok: true });
    expect(parseBody("params", { body: Buffer.from("{[1]"), url: "/v", method: "POST" })).toMatchObject({ ok: false });
    // Invalid UTF-8 inside a JSON string is text we can keep: it becomes U+FFFD, as in the runtime.
    expect(parseBody("json", { body: Buffer.from([0x22, 0xff, 0x22]), url: "/", method: "POST" })).toEqual({ ok: true, value: "\ufffd" });
    expect(parseBody("json", { body: Buffer.from([0x7b, 0xff, 0x7d]), url: "/", method: "POST" })).toMatchObject({ ok: false });
  });
});

describe("time helpers", async () => {
  const { parseCompactUtcTime, parseUnixSeconds } = await import("./extract.js");
  it("reads carriers' compact UTC times and Unix seconds", () => {
    expect(parseCompactUtcTime("2503011000")).toBe(Date.UTC(2025, 2, 1, 10, 0));
    expect(parseCompactUtcTime("250301100005")).toBe(Date.UTC(2025, 2, 1, 10, 0, 5));
    for (const bad of ["2513011000", "2502301000", "25030110", "250301106000", 2503011000, "abcdefghij"]) expect(parseCompactUtcTime(bad)).toBeUndefined();
    expect(parseUnixSeconds(1740823203.123)).toBe(1740823203123);
    expect(parseUnixSeconds("1740823203")).toBe(1740823203000);
    for (const bad of ["-1", "1e9", "", null, Number.NaN, 1e13]) expect(parseUnixSeconds(bad)).toBeUndefined();
  });
});
