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

function isSetIn(env: unknown, name: string): boolean {
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
    const setOwn = ownNames.filter((name) => isSetIn(env, name));
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

const ENV_ALIASES = Symbol.for("floodgate.provider-kit.envAliases");

/** Other names accepted for a provider's environment variables: preferred name → aliases. */
export type EnvAliases = Readonly<Record<string, readonly string[]>>;

/** An alias found set in the environment. */
export interface EnvAliasUse {
  alias: string;
  preferred: string;
  /** True when the preferred variable is set too, so the alias was not read. */
  ignored: boolean;
}

/**
 * Declares other names a provider's config schema accepts for its variables (the name a design
 * document or an older release used). `createProviderRuntime` reads an alias when the preferred
 * variable is unset and reports every alias it found (`ProviderRuntime.aliasesUsed`), so the
 * gateway can warn and name the preferred variable. Returns the schema itself, tagged.
 *
 * @example withEnvAliases(z.object({ TELNYX_PUBLIC_KEY: envList(check) }), { TELNYX_PUBLIC_KEY: ["TELNYX_WEBHOOK_SECRET"] })
 */
export function withEnvAliases<S extends z.ZodType>(schema: S, aliases: EnvAliases): S {
  // A global symbol, so the tag is found whichever copy of provider-kit reads it.
  Object.defineProperty(schema, ENV_ALIASES, { value: Object.freeze({ ...aliases }), enumerable: false, configurable: true });
  return schema;
}

/** The aliases declared on `schema` with {@link withEnvAliases}. */
export function envAliasesOf(schema: z.ZodType): EnvAliases {
  return (schema as unknown as { [ENV_ALIASES]?: EnvAliases })[ENV_ALIASES] ?? {};
}

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== "";

/**
 * Applies the aliases declared on `schema` to `env`: an alias set while its preferred variable is
 * not is copied to the preferred name. Returns the env to parse and every alias found set.
 */
export function resolveEnvAliases(schema: z.ZodType, env: ProviderEnv): { env: ProviderEnv; used: EnvAliasUse[] } {
  const declared = envAliasesOf(schema);
  const used: EnvAliasUse[] = [];
  let resolved: Record<string, string | undefined> | undefined;
  for (const [preferred, aliases] of Object.entries(declared)) {
    for (const alias of aliases) {
      const value = env[alias];
      if (!isSet(value)) continue;
      const ignored = isSet(env[preferred]) || (resolved !== undefined && isSet(resolved[preferred]));
      used.push({ alias, preferred, ignored });
      if (!ignored) (resolved ??= { ...env })[preferred] = value;
    }
  }
  return { env: resolved ?? env, used };
}
