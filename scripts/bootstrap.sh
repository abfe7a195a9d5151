#!/usr/bin/env bash
# Installs what a machine lacks and starts the services Floodgate needs. Idempotent, and quick
# when everything is there (CI runs it every time):
#
#   pnpm      pnpm 12.4.2 (npm), when missing or another version
#   services  PostgreSQL on 127.0.0.1:5432, trusting local connections (user postgres, no
#             password, as the tests and scripts/up.sh connect), and nats-server with JetStream
#             on 127.0.0.1:4222; each started when its port is closed, and installed first from
#             Debian's packages (`postgresql`, `nats-server`) when it is not installed; and
#             Debian's `pgbouncer` installed when missing (not started: the PgBouncer tests start
#             their own, on ports of their own)
#   tools     nats-server v2.15.2 and the nats CLI v0.5.0 built with Go into .tools/bin (ignored
#             by git; reused while their versions match). Without Go it says loudly that only
#             Debian's nats-server (2.9.10) can be tested, and goes on
#   deps      pnpm install --frozen-lockfile
#
# `bash scripts/bootstrap.sh` runs every step; `bash scripts/bootstrap.sh services tools` only those.
#
# Environment overrides (the bootstrap test runs the install branch in a sandbox with them):
#   FLOODGATE_PG_PORT (5432), FLOODGATE_NATS_PORT (4222)
#   FLOODGATE_PG_CLUSTER (main): name of the cluster created when none exists
#   FLOODGATE_PG_DATA, FLOODGATE_PG_LOG: its data folder and log file (default: postgresql-common's,
#     /var/lib/postgresql/<v>/<name> and /var/log/postgresql/postgresql-<v>-<name>.log)
#   PG_CLUSTER_CONF_ROOT: postgresql-common's configuration root (/etc/postgresql)
#   FLOODGATE_NATS_STORE (/var/lib/nats-server), FLOODGATE_NATS_LOG (/var/log/nats-server.log)
#   FLOODGATE_PGBOUNCER (/usr/sbin/pgbouncer): where an installed pgbouncer is looked for off PATH
#   FLOODGATE_TOOLS_DIR (<repo>/.tools), FLOODGATE_GO (go on PATH, else /usr/local/go/bin/go)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

PNPM_VERSION=12.4.2
NATS_SERVER_VERSION=v2.15.2
NATSCLI_VERSION=v0.5.0

PG_PORT=${FLOODGATE_PG_PORT:-5432}
PG_CLUSTER=${FLOODGATE_PG_CLUSTER:-main}
PG_CONF_ROOT=${PG_CLUSTER_CONF_ROOT:-/etc/postgresql}
NATS_PORT=${FLOODGATE_NATS_PORT:-4222}
NATS_STORE=${FLOODGATE_NATS_STORE:-/var/lib/nats-server}
NATS_LOG=${FLOODGATE_NATS_LOG:-/var/log/nats-server.log}
TOOLS_DIR=${FLOODGATE_TOOLS_DIR:-$REPO/.tools}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.2; done; return 1; }
loud() { { echo "!!"; for line in "$@"; do echo "!! $line"; done; echo "!!"; } >&2; }

APT_UPDATED=
apt_install() {
  echo "== installing $* (Debian packages)"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$APT_UPDATED" ]; then "${sudo[@]}" apt-get update -qq; APT_UPDATED=1; fi
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

step_pnpm() {
  if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm -v 2>/dev/null)" != "$PNPM_VERSION" ]; then
    echo "== installing pnpm $PNPM_VERSION"
    # corepack's signature check fails on this kind of machine; npm works.
    npm i -g "pnpm@$PNPM_VERSION" >/dev/null
  fi
}

# The first PostgreSQL cluster under the configuration root ("<version> <name>"), preferring
# $PG_CLUSTER; empty when there is none.
find_pg_cluster() {
  local conf best=
  for conf in "$PG_CONF_ROOT"/*/*/postgresql.conf; do
    [ -f "$conf" ] || continue
    local dir=${conf%/postgresql.conf}
    local found
    found="$(basename "$(dirname "$dir")") $(basename "$dir")"
    [ "$(basename "$dir")" = "$PG_CLUSTER" ] && { echo "$found"; return; }
    [ -n "$best" ] || best=$found
  done
  echo "$best"
}

# Only for a cluster this script installed or created: a developer's own cluster keeps its auth.
configure_pg_cluster() {
  local dir=$PG_CONF_ROOT/$1/$2
  sed -i -E "s/^[#[:space:]]*port[[:space:]]*=[[:space:]]*[0-9]+/port = $PG_PORT/" "$dir/postgresql.conf"
  if ! grep -q '^# floodgate bootstrap' "$dir/pg_hba.conf"; then
    local rest
    rest=$(cat "$dir/pg_hba.conf")
    {
      echo "# floodgate bootstrap: local connections need no password (tests and scripts/up.sh connect as postgres)"
      echo "local   all all              trust"
      echo "host    all all 127.0.0.1/32 trust"
      echo "host    all all ::1/128      trust"
      echo "$rest"
    } >"$dir/pg_hba.conf"
  fi
}

start_postgres() {
  local installed=
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v pg_createcluster >/dev/null 2>&1; then
    apt_install postgresql
    installed=1
  fi
  local cluster
  cluster=$(find_pg_cluster)
  if [ -z "$cluster" ]; then
    local version
    version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
    echo "== creating PostgreSQL $version cluster $PG_CLUSTER"
    local where=()
    [ -z "${FLOODGATE_PG_DATA:-}" ] || where+=(-d "$FLOODGATE_PG_DATA")
    [ -z "${FLOODGATE_PG_LOG:-}" ] || where+=(-l "$FLOODGATE_PG_LOG")
    pg_createcluster "${where[@]}" -p "$PG_PORT" "$version" "$PG_CLUSTER" >/dev/null
    cluster="$version $PG_CLUSTER"
    installed=1
  fi
  # shellcheck disable=SC2086 # "<version> <name>" into $1 $2
  set -- $cluster
  [ -z "$installed" ] || configure_pg_cluster "$1" "$2"
  # The package may have started the cluster already (with Debian's auth): restart it then.
  local action=start
  pg_ctlcluster "$1" "$2" status >/dev/null 2>&1 && action=restart
  echo "== starting PostgreSQL $1/$2 on 127.0.0.1:$PG_PORT"
  pg_ctlcluster --skip-systemctl-redirect "$1" "$2" "$action"
  wait_port "$PG_PORT" || { echo "PostgreSQL did not listen on $PG_PORT" >&2; return 1; }
}

start_nats() {
  if ! command -v nats-server >/dev/null 2>&1; then
    apt_install nats-server
    # Under systemd the package starts its own service on 4222, without JetStream: ours replaces it.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now nats-server >/dev/null 2>&1 || true
    fi
  fi
  echo "== starting nats-server with JetStream on 127.0.0.1:$NATS_PORT"
  mkdir -p "$NATS_STORE" "$(dirname "$NATS_LOG")"
  # Matched by its pid file, so a nats-server already running on another port is no obstacle.
  start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$NATS_STORE/nats-server.pid" \
    --exec "$(command -v nats-server)" -- -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_STORE" -l "$NATS_LOG"
  wait_port "$NATS_PORT" || { echo "nats-server did not listen on $NATS_PORT (see $NATS_LOG)" >&2; return 1; }
}

# /usr/sbin is not on a user's PATH on Debian: look there too, or every run would call apt-get.
ensure_pgbouncer() {
  command -v pgbouncer >/dev/null 2>&1 || [ -x "${FLOODGATE_PGBOUNCER:-/usr/sbin/pgbouncer}" ] || apt_install pgbouncer
}

step_services() {
  port_open "$PG_PORT" || start_postgres
  port_open "$NATS_PORT" || start_nats
  ensure_pgbouncer
}

find_go() {
  if [ -n "${FLOODGATE_GO:-}" ]; then
    [ -x "$FLOODGATE_GO" ] && echo "$FLOODGATE_GO"
    return 0
  fi
  command -v go 2>/dev/null || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true
}

# `<binary> --version` prints exactly this when it is the version we want.
tool_current() { [ -x "$1" ] && [ "$("$1" --version 2>/dev/null)" = "$2" ]; }

step_tools() {
  local bin=$TOOLS_DIR/bin
  local server_ok='' cli_ok=''
  tool_current "$bin/nats-server" "nats-server: $NATS_SERVER_VERSION" && server_ok=1
  tool_current "$bin/nats" "$NATSCLI_VERSION" && cli_ok=1
  if [ -n "$server_ok" ] && [ -n "$cli_ok" ]; then
    echo "== nats-server $NATS_SERVER_VERSION and nats $NATSCLI_VERSION in ${bin#"$REPO"/}"
    return 0
  fi
  local go
  go=$(find_go)
  if [ -z "$go" ]; then
    local installed
    installed=$(nats-server --version 2>/dev/null | sed 's/^nats-server: //' || true)
    loud "Go not found (no \`go\` on PATH, no /usr/local/go/bin/go): nats-server $NATS_SERVER_VERSION" \
      "and the nats CLI were not built into ${bin#"$REPO"/}." \
      "ONLY nats-server ${installed:-from Debian (2.9.10)} WILL BE TESTED."
    return 0
  fi
  mkdir -p "$bin"
  local start=$SECONDS
  if [ -z "$server_ok" ]; then
    echo "== building nats-server $NATS_SERVER_VERSION with $("$go" version | cut -d' ' -f3) into ${bin#"$REPO"/} (minutes the first time; cached after)"
    GOBIN=$bin "$go" install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION" || true
  fi
  if [ -z "$cli_ok" ]; then
    echo "== building the nats CLI $NATSCLI_VERSION into ${bin#"$REPO"/}"
    GOBIN=$bin "$go" install "github.com/nats-io/natscli/nats@$NATSCLI_VERSION" || true
  fi
  if tool_current "$bin/nats-server" "nats-server: $NATS_SERVER_VERSION" && tool_current "$bin/nats" "$NATSCLI_VERSION"; then
    echo "== built in $((SECONDS - start)) s: $bin/nats-server, $bin/nats"
  else
    loud "Building nats-server $NATS_SERVER_VERSION / nats $NATSCLI_VERSION with $go failed (see above)." \
      "ONLY Debian's nats-server WILL BE TESTED."
  fi
}

step_deps() {
  echo "== pnpm install --frozen-lockfile"
  pnpm install --frozen-lockfile
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(pnpm services tools deps)
for step in "${steps[@]}"; do
  case "$step" in
    pnpm | services | tools | deps) "step_$step" ;;
    *) echo "bootstrap.sh: unknown step '$step' (pnpm, services, tools, deps)" >&2; exit 2 ;;
  esac
done
