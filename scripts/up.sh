#!/usr/bin/env bash
# One command on a fresh machine of this kind: installs everything, builds, migrates, and runs
# the gateway and the worker together in the foreground (Ctrl-C stops both).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

if [ ! -f .env ]; then
  echo "== writing development secrets to .env (gitignored)"
  pnpm --silent --filter @floodgate/loadtest exec tsx src/cli.ts keys > .env
fi
set -a; . ./.env; set +a
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/floodgate}"

echo "== build"
pnpm build
echo "== migrate"
pnpm --filter @floodgate/db migrate

echo "== starting gateway (:${PORT:-3000}, metrics :${METRICS_PORT:-6001}) and worker (:${WORKER_PORT:-6002})"
pids=()
cleanup() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait || true; }
trap cleanup INT TERM EXIT
node --enable-source-maps apps/gateway/dist/main.js & pids+=($!)
node --max-semi-space-size=1 --max-old-space-size=64 --enable-source-maps apps/worker/dist/main.js & pids+=($!)
wait -n
