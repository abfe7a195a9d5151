#!/usr/bin/env bash
# The whole test suite: unit tests and the integration, crash and fault tests against the real
# NATS and PostgreSQL. Installs what is missing first (idempotent), so it works on a fresh machine.
# The NATS-dependent suites run once per nats-server (vitest projects `nats-<version>`): the
# machine's service on 4222 (Debian's 2.9.10) and the current release bootstrap builds into
# .tools/bin (tooling/vitest/index.js starts it on a port of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
pnpm test
current=$(./.tools/bin/nats-server --version 2>/dev/null || true)
if [ -n "$current" ]; then
  echo "== NATS-dependent suites ran against the service on ${NATS_URL:-127.0.0.1:4222} and ${current}"
else
  { echo "!!"; echo "!! ONLY the nats-server on ${NATS_URL:-127.0.0.1:4222} WAS TESTED: .tools/bin/nats-server is missing (needs Go; see above)."; echo "!!"; } >&2
fi
