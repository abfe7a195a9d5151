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
