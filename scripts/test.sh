#!/usr/bin/env bash
# The whole test suite: unit tests and the integration, crash and fault tests against the real
# NATS and PostgreSQL. Installs what is missing first (idempotent), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
pnpm test
