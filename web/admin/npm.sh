#!/bin/sh
# Builds or tests the admin panel in the build tree, never in the source tree:
#   npm.sh WORK build OUT   vite build of a fresh copy of the sources into OUT
#   npm.sh WORK test        Vitest over a fresh copy of the sources
# node_modules go to WORK from the committed lockfile (npm ci), again only when package.json or
# package-lock.json changed (as tests/openapi/npm_ci.sh does).
set -eu
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
work=$(cd "$1" && pwd)
what=$2
out=${3:-}
case $out in
  /* | "") ;;
  *) out=$PWD/$out ;;
esac
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "web/admin: node and npm are needed to build the admin panel:" \
    "run scripts/install-deps.sh (Debian packages nodejs and npm)" >&2
  exit 1
fi
if [ ! -d "$work/node_modules" ] ||
  ! cmp -s "$src/package-lock.json" "$work/.installed-lock.json" ||
  ! cmp -s "$src/package.json" "$work/.installed-package.json"; then
  rm -f "$work/.installed-lock.json" "$work/.installed-package.json"
  cp "$src/package.json" "$src/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$src/package-lock.json" "$work/.installed-lock.json"
  cp "$src/package.json" "$work/.installed-package.json"
fi
rm -rf "$work/src"
cp -R "$src/src" "$work/src"
cp "$src/index.html" "$src/vite.config.ts" "$src/tsconfig.json" "$work/"
cd "$work"
case $what in
  build)
    ./node_modules/.bin/tsc --noEmit
    exec ./node_modules/.bin/vite build --outDir "$out" ;;
  test)
    exec ./node_modules/.bin/vitest run ;;
  *)
    echo "web/admin/npm.sh: unknown command $what" >&2
    exit 2 ;;
esac
