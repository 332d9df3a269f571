#!/usr/bin/env bash
# Installs the programs the default test suite loads generated sidecar configs with
# (tests/test_program_configs.py): Debian's nginx (`nginx -t`), pgbouncer (started on the
# config until it listens) and openssl (a throwaway certificate for nginx). Under CI=true a
# missing one fails those tests, so .ci/run calls this before pytest. Needs root (apt-get).
set -euo pipefail
PACKAGES=(nginx pgbouncer openssl)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
[ "$(id -u)" = 0 ] || { echo "config-checkers: installing ${missing[*]} needs root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# Installing must not start the packages' services (nginx on :80, pgbouncer on :6432).
policy=/usr/sbin/policy-rc.d
added=""
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1; fi
trap '[ -z "$added" ] || rm -f "$policy"' EXIT
install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1 || ! install; then
  apt-get update -q >&2
  install
fi
