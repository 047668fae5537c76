#!/usr/bin/env bash
# Installs the Debian servers the test suite starts on 127.0.0.1 (run as root).
# Tests that need a server skip with a clear reason when it is missing; CI installs them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(postgresql git docker-registry prometheus chromium redis-server)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }
fi
# The Debian package may start a cluster of its own; the tests start their own on a free port.
echo "servers installed: ${packages[*]}"
