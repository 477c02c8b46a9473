#!/usr/bin/env bash
# Installs the wallet libraries the wallet-session end-to-end tests sign with
# (tests/package.json), exactly as tests/package-lock.json pins them. Does
# nothing while tests/node_modules already holds that lock's install (npm
# writes node_modules/.package-lock.json after each install), so repeated test
# runs do not touch the network.
set -euo pipefail
cd "$(dirname "$0")/.."
installed=node_modules/.package-lock.json
if [ -f "$installed" ] && [ "$installed" -nt package-lock.json ] && [ -d node_modules/ethers ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
