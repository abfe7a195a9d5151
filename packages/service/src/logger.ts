import { pino, type Logger } from "pino";

export type { Logger };

/**
 * The process logger: JSON lines on stdout. Secrets are redacted by path wherever they might
 * appear (headers, env), and payloads are only ever logged at debug level by callers.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name,
    level,
    base: { service: name, pid: process.pid },
    redact: {
      paths: [
        "headers.authorization",
        'headers["telnyx-signature-ed25519"]',
        'headers["svix-signature"]',
        'headers["webhook-signature"]',
        "*.TELNYX_PUBLIC_KEY",
        "*.RESEND_WEBHOOK_SECRET",
        "*.ADMIN_TOKEN",
        "*.secret",
        "*.secrets",
      ],
      censor: "[redacted]",
    },
  });
}
