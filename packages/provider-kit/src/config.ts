import { z } from "zod";

/** The process environment, or any env-style map of secrets. */
export type ProviderEnv = Readonly<Record<string, string | undefined>>;

const SEPARATORS = /[\s,]+/;

/**
 * A zod schema for an environment variable holding one or more values separated by commas
 * and/or whitespace (key rotation: configure old and new at once). Rejects a missing or
 * blank variable, and any item `check` returns a reason for.
 *
 * @example z.object({ TELNYX_PUBLIC_KEY: envList(checkEd25519PublicKey) })
 */
export function envList(check?: (item: string) => string | undefined) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
    .transform((value, ctx) => {
      const items = value.split(SEPARATORS).filter((item) => item.length > 0);
      if (items.length === 0) {
        ctx.addIssue({ code: "custom", message: "is empty" });
        return z.NEVER;
      }
      if (check !== undefined) {
        for (let i = 0; i < items.length; i++) {
          const problem = check(items[i] as string);
          if (problem !== undefined) {
            ctx.addIssue({ code: "custom", message: `item #${i + 1} ${problem}` });
            return z.NEVER;
          }
        }
      }
      return items;
    });
}

/**
 * A zod schema for an environment variable holding exactly one value (surrounding whitespace
 * trimmed). Rejects a missing or blank variable, and a value `check` returns a reason for.
 */
export function envValue(check?: (value: string) => string | undefined) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
    .transform((raw, ctx) => {
      const value = raw.trim();
      if (value.length === 0) {
        ctx.addIssue({ code: "custom", message: "is empty" });
        return z.NEVER;
      }
      const problem = check?.(value);
      if (problem !== undefined) {
        ctx.addIssue({ code: "custom", message: problem });
        return z.NEVER;
      }
      return value;
    });
}

/** A zod schema for a variable holding one of `choices` (case-insensitive; the choice is returned). */
export function envChoice<const T extends readonly [string, ...string[]]>(choices: T) {
  return envValue((value) => (choices.some((c) => c.toLowerCase() === value.toLowerCase()) ? undefined : `must be one of ${choices.join(", ")}`)).transform(
    (value) => choices.find((c) => c.toLowerCase() === value.toLowerCase()) as T[number],
  );
}

function isSet(env: unknown, name: string): boolean {
  const value = typeof env === "object" && env !== null ? (env as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" && value.trim().length > 0;
}

/**
 * A provider's configuration: its own variables (its secrets) and variables it shares with
 * other providers (`PUBLIC_URL`). Either the provider is unconfigured, and only its own
 * variables are reported (so the gateway leaves it out: 404), or some of its own variables
 * are set, and then every problem is reported *together with* the own variables that are set,
 * so a half-configured provider (a token without `PUBLIC_URL`, a username without its
 * password) stops the boot instead of being quietly disabled.
 *
 * @example providerEnv({ TWILIO_AUTH_TOKEN: envList() }, { PUBLIC_URL: publicUrlVar() })
 */
export function providerEnv<Own extends z.ZodRawShape, Shared extends z.ZodRawShape = Record<never, never>>(own: Own, shared?: Shared) {
  const inner = z.object({ ...own, ...(shared ?? ({} as Shared)) });
  const ownNames = Object.keys(own);
  return z.unknown().transform((env, ctx): z.infer<typeof inner> => {
    const result = inner.safeParse(env);
    if (result.success) return result.data;
    const setOwn = ownNames.filter((name) => isSet(env, name));
    if (setOwn.length === 0) {
      for (const name of ownNames) ctx.addIssue({ code: "custom", path: [name], message: "is required" });
      return z.NEVER;
    }
    const failed = new Set<string>();
    for (const issue of result.error.issues) {
      const name = String(issue.path[0] ?? "");
      failed.add(name);
      ctx.addIssue({ code: "custom", path: issue.path as PropertyKey[], message: issue.message });
    }
    const missing = [...failed].filter((name) => name !== "");
    for (const name of setOwn) {
      if (!failed.has(name)) ctx.addIssue({ code: "custom", path: [name], message: `is set, but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not usable` });
    }
    return z.NEVER;
  });
}
