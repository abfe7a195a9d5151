import { z } from "zod";
import { ConfigError } from "./errors.js";

/** An integer environment variable in [min, max], with a default. */
export function intVar(def: number, min = 1, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .default(String(def))
    .transform((s, ctx) => {
      const n = Number(s.trim());
      if (s.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `expected an integer from ${min} to ${max}, got ${JSON.stringify(s)}` });
        return z.NEVER;
      }
      return n;
    });
}

/** A string variable that must match `pattern` (described by `what` in the error). */
export function stringVar(def: string, pattern: RegExp, what: string) {
  return z
    .string()
    .default(def)
    .refine((s) => pattern.test(s), { message: `expected ${what}` });
}

/** A URL variable whose scheme is one of `protocols`, e.g. `["nats:"]`. */
export function urlVar(def: string, protocols: readonly string[]) {
  return z
    .string()
    .default(def)
    .refine(
      (s) =>
        s.split(",").every((part) => {
          try {
            return protocols.includes(new URL(part.trim()).protocol);
          } catch {
            return false;
          }
        }),
      { message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}` },
    );
}

/** An enumerated variable. */
export function enumVar<const T extends readonly [string, ...string[]]>(values: T, def: T[number]) {
  return z.enum(values).default(def as never);
}

/** An optional secret: absent or blank means "not configured". Never echoed in errors. */
export function secretVar() {
  return z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()));
}

/**
 * Parses the process environment once, at start, against a schema of variables. Every mistake is
 * reported in one error, each on its own line with the variable's name (values of variables
 * whose name suggests a secret are never included).
 */
export function parseEnv<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const parsed = z.object(shape).safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.join(".");
    const secret = /KEY|SECRET|TOKEN|PASSWORD/i.test(name);
    const message = secret ? issue.message.replace(/, got .*$/, "") : issue.message;
    return `  ${name}: ${message}`;
  });
  throw new ConfigError(`invalid environment:\n${lines.join("\n")}`);
}
