import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors.js";
import { intVar, parseEnv, secretVar, stringVar, urlVar } from "./env.js";

const shape = {
  PORT: intVar(3000, 1, 65535),
  NATS_URL: urlVar("nats://127.0.0.1:4222", ["nats:", "tls:"]),
  WEBHOOK_STREAM: stringVar("webhooks", /^[A-Za-z0-9_-]+$/, "letters, digits, _ or -"),
  RESEND_WEBHOOK_SECRET: secretVar(),
};

describe("parseEnv", () => {
  it("applies defaults on an empty environment", () => {
    expect(parseEnv(shape, {})).toEqual({ PORT: 3000, NATS_URL: "nats://127.0.0.1:4222", WEBHOOK_STREAM: "webhooks", RESEND_WEBHOOK_SECRET: undefined });
  });

  it("parses valid values", () => {
    const env = parseEnv(shape, { PORT: "8080", NATS_URL: "nats://a:1,nats://b:2", RESEND_WEBHOOK_SECRET: " whsec_x " });
    expect(env.PORT).toBe(8080);
    expect(env.RESEND_WEBHOOK_SECRET).toBe("whsec_x");
  });

  it("names every mistake on its own line", () => {
    let error: unknown;
    try {
      parseEnv(shape, { PORT: "70000", NATS_URL: "http://x", WEBHOOK_STREAM: "a.b" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT: expected an integer from 1 to 65535, got "70000"');
    expect(message).toContain("NATS_URL: expected a URL starting with nats:// or tls://");
    expect(message).toContain("WEBHOOK_STREAM: expected letters, digits, _ or -");
    expect(message.split("\n")).toHaveLength(4);
  });

  it("rejects non-integers and blanks", () => {
    expect(() => parseEnv({ N: intVar(1) }, { N: "1.5" })).toThrow(/N: expected an integer/);
    expect(() => parseEnv({ N: intVar(1) }, { N: " " })).toThrow(/N: expected an integer/);
    expect(() => parseEnv({ N: intVar(1) }, { N: "0" })).toThrow(/N: expected an integer from 1/);
  });

  it("treats a blank secret as absent", () => {
    expect(parseEnv({ S: secretVar() }, { S: "  " }).S).toBeUndefined();
  });
});
