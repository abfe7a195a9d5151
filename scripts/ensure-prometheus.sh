#!/usr/bin/env bash
# Installs Debian's Prometheus (prometheus + promtool) when missing. Used by the observability
# test; needs root, as on this kind of machine.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package may start its own service on :9090; the tests run their own instance.
(command -v service >/dev/null 2>&1 && service prometheus stop >/dev/null 2>&1) || true
pkill -x prometheus 2>/dev/null || true
command -v prometheus && command -v promtool
