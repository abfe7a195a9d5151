import { describe, expect, it } from "vitest";
import { basicAuth, basicAuthorization, basicCredentialsEnv, checkBasicUsername, pairBasicCredentials } from "./basic-auth.js";

const verifier = basicAuth.create({ credentials: [{ username: "floodgate", password: "s3cret-A" }, { username: "floodgate", password: "s3cret-B" }] });
const verify = (authorization?: string | string[]) =>
  verifier.verify({ body: new Uint8Array(), headers: authorization === undefined ? {} : { authorization }, url: "/", method: "POST" }, 0);

describe("basicAuth", () => {
  it("accepts every configured pair (rotation), in any case of the scheme name", () => {
    expect(verify(basicAuthorization({ username: "floodgate", password: "s3cret-A" }))).toEqual({ ok: true });
    expect(verify(basicAuthorization({ username: "floodgate", password: "s3cret-B" }))).toEqual({ ok: true });
    expect(verify(`basic ${Buffer.from("floodgate:s3cret-A").toString("base64")}`)).toEqual({ ok: true });
  });

  it("refuses a wrong password, user, or a prefix of either", () => {
    for (const [u, p] of [["floodgate", "s3cret-C"], ["floodgat", "s3cret-A"], ["floodgate", "s3cret-"], ["floodgate", "s3cret-AA"], ["", ""]]) {
      expect(verify(basicAuthorization({ username: u as string, password: p as string }))).toMatchObject({ ok: false, reason: "mismatch" });
    }
  });

  it("reads the header by the kit's rules and refuses anything that is not Basic credentials", () => {
    expect(verify()).toMatchObject({ reason: "missing_header" });
    expect(verify("")).toMatchObject({ reason: "missing_header" });
    const good = basicAuthorization({ username: "floodgate", password: "s3cret-A" });
    expect(verify([good, good])).toMatchObject({ reason: "bad_encoding" });
    for (const bad of ["Bearer abc", "Basic", "Basic !!!!", `Basic ${Buffer.from("no-colon").toString("base64")}`, `Basic ${Buffer.from([0xff, 0x3a]).toString("base64")}`, `Basic ${"A".repeat(2000)}`]) {
      expect(verify(bad), bad).toMatchObject({ ok: false, reason: "bad_encoding" });
    }
  });

  it("fails closed without credentials, and checks them at construction", () => {
    expect(basicAuth.create({ credentials: [] }).verify({ body: new Uint8Array(), headers: { authorization: "Basic YTpi" }, url: "/", method: "POST" }, 0)).toMatchObject({ reason: "no_secret" });
    expect(() => basicAuth.create({ credentials: [{ username: "a:b", password: "x" }] })).toThrow(/colon/);
    expect(checkBasicUsername("ok")).toBeUndefined();
    expect(pairBasicCredentials(["a", "b"], ["x"])).toMatch(/paired by position/);
    expect(pairBasicCredentials(["a", "b"], ["x", "y"])).toEqual([{ username: "a", password: "x" }, { username: "b", password: "y" }]);
  });
});

describe("basicCredentialsEnv", () => {
  const schema = basicCredentialsEnv("X_USERNAME", "X_PASSWORD");
  it("pairs the two lists by position", () => {
    expect(schema.parse({ X_USERNAME: "a, b", X_PASSWORD: "x,y" })).toEqual({ credentials: [{ username: "a", password: "x" }, { username: "b", password: "y" }] });
  });
  it("names both variables when the counts differ, and the set one when the other is missing", () => {
    const paths = (env: Record<string, string>) => {
      const r = schema.safeParse(env);
      return r.success ? [] : [...new Set(r.error.issues.map((i) => String(i.path[0])))].sort();
    };
    expect(paths({ X_USERNAME: "a,b", X_PASSWORD: "x" })).toEqual(["X_PASSWORD", "X_USERNAME"]);
    expect(paths({ X_USERNAME: "a" })).toEqual(["X_PASSWORD", "X_USERNAME"]);
    expect(paths({})).toEqual(["X_PASSWORD", "X_USERNAME"]);
    expect(paths({ X_USERNAME: "a:b", X_PASSWORD: "x" })).toEqual(["X_PASSWORD", "X_USERNAME"]);
  });
});
