#!/usr/bin/env bash
# What the test suite needs from the operating system, installed once and skipped when present:
# Debian's chromium (the pages' tests drive it through Playwright), PostgreSQL's server (the tests
# start a throwaway cluster on loopback), a Java 17 runtime (the Spark engine runs in a local JVM)
# and a C compiler (tools/clock-shift).
# Debian/Ubuntu only; elsewhere it names what is missing and stops.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null \
  || missing+=(postgresql)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
# tools/clock-shift (make test-at, and its own test) builds a small preload library.
command -v cc >/dev/null || missing+=(gcc libc6-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "The tests need: ${missing[*]} (Debian package names); install them and run make test again." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing what the tests need from Debian's packages: ${missing[*]}"
$SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
  || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }
