#!/bin/sh
# Installs the pinned OpenAPI linter into DIR (the build tree) from the committed lockfile, once
# per lockfile: `npm ci` again only when package-lock.json changed.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir"
if [ -x "$dir/node_modules/.bin/redocly" ] && cmp -s "$src/package-lock.json" "$dir/package-lock.json"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm_ci: npm not found: run scripts/install-deps.sh" >&2
  exit 1
fi
cp "$src/package.json" "$src/package-lock.json" "$dir/"
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error
