#!/usr/bin/env bash
# Prints the directory of a `node` binary of version 22 or later: the one on PATH when it is recent
# enough, else one installed from the npm registry's `node` package (the only registry CI machines
# reach), kept in a cache folder between runs. Used by .ci/run and tests/package/install.test.ts.
set -euo pipefail

MIN_MAJOR=22
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null && [ "$(major node)" -ge "$MIN_MAJOR" ]; then
  dirname "$(command -v node)"
  exit 0
fi

cache="${SES_MAIL_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ses-mail/node$MIN_MAJOR}"
bin="$cache/node_modules/node/bin"
if [ "$(major "$bin/node")" -lt "$MIN_MAJOR" ]; then
  # Installed beside the cache and moved in whole, so an interrupted install is never reused.
  staging="$cache.partial.$$"
  rm -rf "$staging" && mkdir -p "$staging"
  trap 'rm -rf "$staging"' EXIT
  echo '{"private": true}' > "$staging/package.json"
  npm install --prefix "$staging" --no-audit --no-fund --loglevel=error "node@$MIN_MAJOR" >&2
  [ "$(major "$staging/node_modules/node/bin/node")" -ge "$MIN_MAJOR" ] || { echo "node@$MIN_MAJOR from the registry does not run" >&2; exit 1; }
  rm -rf "$cache" && mkdir -p "$(dirname "$cache")" && mv "$staging" "$cache"
fi
echo "$bin"
