import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signJwtHs256, vonageJwtClaims } from "../testing/scheme-signers.js";
import { jwtHs256 } from "./jwt-hs256.js";

const SECRET = "vonage-signature-secret";
const NOW = 1_700_000_000_000;
const BODY = Buffer.from('{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","status":"delivered"}');
const verifier = () => jwtHs256.create({ secrets: ["old", SECRET] });
const verify = (authorization: string, body: Uint8Array = BODY, v = verifier(), now = NOW) => v.verify({ body, headers: { authorization }, url: "/", method: "POST" }, now);

describe("jwtHs256", () => {
  it("accepts an HS256 token over this body, with any configured secret; its jti once", () => {
    const v = verifier();
    const token = signJwtHs256(SECRET, vonageJwtClaims(BODY, NOW / 1000));
    expect(verify(`Bearer ${token}`, BODY, v)).toMatchObject({ ok: true });
    expect(verify(`Bearer ${token}`, BODY, v)).toMatchObject({ ok: false, reason: "replayed" });
    expect(verify(`bearer ${signJwtHs256("old", vonageJwtClaims(BODY, NOW / 1000))}`)).toMatchObject({ ok: true });
  });

  it("refuses another body (payload_hash), secret, algorithm, and tokens out of their time", () => {
    const claims = vonageJwtClaims(BODY, NOW / 1000);
    expect(verify(`Bearer ${signJwtHs256(SECRET, claims)}`, Buffer.from("{}"))).toMatchObject({ reason: "mismatch" });
    expect(verify(`Bearer ${signJwtHs256("nope", claims)}`)).toMatchObject({ reason: "mismatch" });
    expect(verify(`Bearer ${signJwtHs256(SECRET, { ...claims, iat: NOW / 1000 - 301 })}`)).toMatchObject({ reason: "timestamp_too_old" });
    expect(verify(`Bearer ${signJwtHs256(SECRET, { ...claims, iat: NOW / 1000 + 301 })}`)).toMatchObject({ reason: "timestamp_too_new" });
    expect(verify(`Bearer ${signJwtHs256(SECRET, { ...claims, exp: NOW / 1000 - 400 })}`)).toMatchObject({ reason: "timestamp_too_old" });
    const { payload_hash: _h, ...noHash } = claims;
    expect(verify(`Bearer ${signJwtHs256(SECRET, noHash)}`)).toMatchObject({ reason: "missing_header" });
    const { iat: _i, ...noIat } = claims;
    expect(verify(`Bearer ${signJwtHs256(SECRET, noIat)}`)).toMatchObject({ reason: "missing_header" });
    // alg "none", and an HS512 token signed with the same secret.
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
    expect(verify(`Bearer ${none}`)).toMatchObject({ ok: false });
    const head = Buffer.from('{"alg":"HS512"}').toString("base64url");
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const hs512 = `${head}.${body}.${createHmac("sha512", SECRET).update(`${head}.${body}`).digest("base64url")}`;
    expect(verify(`Bearer ${hs512}`)).toMatchObject({ reason: "mismatch" });
  });

  it("refuses what is not a bearer JWS", () => {
    for (const bad of ["Basic abc", "Bearer a.b", "Bearer a.b.c.d", "Bearer a.b!.c", `Bearer ${"a".repeat(9000)}`]) {
      expect(verify(bad), bad).toMatchObject({ ok: false, reason: "bad_encoding" });
    }
    expect(jwtHs256.create({ secrets: [] }).verify({ body: BODY, headers: { authorization: "Bearer a.b.c" }, url: "/", method: "POST" }, NOW)).toMatchObject({ reason: "no_secret" });
  });
});
