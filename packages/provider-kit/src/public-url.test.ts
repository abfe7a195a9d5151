import { describe, expect, it } from "vitest";
import { envChoice, envList, envValue, providerEnv } from "./config.js";
import { checkPublicUrl, normalizePublicUrl, publicUrlFor, publicUrlVar } from "./public-url.js";

describe("PUBLIC_URL", () => {
  it.each(["https://hooks.example.com", "http://localhost:3000", "https://example.com/floodgate/", "https://u:p@example.com"])("accepts %s", (url) => {
    expect(checkPublicUrl(url)).toBeUndefined();
  });

  it.each([
    ["hooks.example.com", /absolute/],
    ["ftp://example.com", /http/],
    ["https://example.com/?x=1", /query/],
    ["https://example.com/#x", /fragment/],
  ])("refuses %s", (url, message) => {
    expect(checkPublicUrl(url)).toMatch(message);
  });

  it("is joined with the path and query exactly as received", () => {
    expect(normalizePublicUrl("https://example.com/floodgate//")).toBe("https://example.com/floodgate");
    expect(publicUrlFor("https://example.com/floodgate", "/webhooks/twilio?a=%27")).toBe("https://example.com/floodgate/webhooks/twilio?a=%27");
    expect(publicUrlFor("https://example.com", "webhooks/x")).toBe("https://example.com/webhooks/x");
    expect(publicUrlVar().parse(" https://example.com/ ")).toBe("https://example.com");
  });
});

describe("config helpers", () => {
  it("envValue trims and checks one value; envChoice matches case-insensitively", () => {
    expect(envValue().parse(" x ")).toBe("x");
    expect(envValue().safeParse("  ").success).toBe(false);
    expect(envChoice(["md5hash", "sha256"] as const).parse("SHA256")).toBe("sha256");
    expect(envChoice(["md5hash", "sha256"] as const).safeParse("sha1").success).toBe(false);
  });

  const schema = providerEnv({ TOKEN: envList(), USER: envList() }, { PUBLIC_URL: publicUrlVar() });
  const variables = (env: Record<string, string>) => {
    const r = schema.safeParse(env);
    return r.success ? [] : [...new Set(r.error.issues.map((i) => String(i.path[0])))].sort();
  };

  it("an unconfigured provider reports only its own variables (it is left out), whatever the shared ones say", () => {
    expect(variables({})).toEqual(["TOKEN", "USER"]);
    expect(variables({ PUBLIC_URL: "not a url" })).toEqual(["TOKEN", "USER"]);
  });

  it("a half-configured provider reports the set variables too, so it cannot be quietly disabled", () => {
    expect(variables({ TOKEN: "t" })).toEqual(["PUBLIC_URL", "TOKEN", "USER"]);
    expect(variables({ TOKEN: "t", USER: "u" })).toEqual(["PUBLIC_URL", "TOKEN", "USER"]);
    expect(variables({ TOKEN: "t", USER: "u", PUBLIC_URL: "ftp://x" })).toEqual(["PUBLIC_URL", "TOKEN", "USER"]);
    const r = schema.safeParse({ TOKEN: "t", USER: "u" });
    expect(r.success ? "" : r.error.issues.map((i) => `${String(i.path[0])} ${i.message}`).join("; ")).toMatch(/TOKEN is set, but PUBLIC_URL is not usable/);
  });

  it("a complete configuration parses", () => {
    expect(schema.parse({ TOKEN: "a,b", USER: "u", PUBLIC_URL: "https://x.test/" })).toEqual({ TOKEN: ["a", "b"], USER: ["u"], PUBLIC_URL: "https://x.test" });
  });
});
