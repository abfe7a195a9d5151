#!/usr/bin/env bash
# Installs what a fresh machine of this kind lacks and starts the services Floodgate needs.
# Idempotent: safe to run again on a machine that already has everything.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm -v 2>/dev/null)" != "12.4.2" ]; then
  echo "== installing pnpm 12.4.2"
  # corepack's signature check fails on this kind of machine; npm works.
  npm i -g pnpm@12.4.2 >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done; return 1; }

if ! port_open 5432; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_port 5432
fi
if ! port_open 4222; then
  echo "== starting nats-server with JetStream"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222
fi

echo "== pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile
