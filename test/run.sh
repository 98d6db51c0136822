#!/usr/bin/env bash
# The whole test suite. Installs what the tests need when missing (Debian packages, npm packages),
# builds, then runs every test/**/*.test.ts with Node's test runner against real parts.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
command -v influxd >/dev/null || need+=(influxdb)
command -v influx >/dev/null || need+=(influxdb-client)
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl)
command -v prlimit >/dev/null || need+=(util-linux)
command -v ss >/dev/null || need+=(iproute2)
command -v promtool >/dev/null || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "test: installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  # Debian starts influxdb and prometheus as services on install; the tests start their own influxd
  # and use only promtool.
  $SUDO systemctl disable --now influxdb >/dev/null 2>&1 || true
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  # Likewise redis-server and postgresql: the cluster tests start their own on free ports.
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
else
  npm run build --silent
fi

# Formatting and lint rules (biome.json): a tree that is not formatted, or breaks a rule, fails here.
npx biome check --diagnostic-level=error .

mkdir -p test-artifacts
files=$(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
# One file at a time per core; each file bounds its own time. Whole suite: well under 15 min.
exec node --import tsx --test --test-concurrency=2 --test-timeout=180000 $files
