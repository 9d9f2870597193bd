#!/usr/bin/env bash
# Setup for the end-to-end suite, the only step that talks to the npm registry: installs the real
# `heroku` CLI into a cache folder outside the repository (about 400 MB and a minute the first
# time, reused when present) and makes sure the npm cache holds the plugin's dependencies, so
# the suite's `heroku plugins:install` can run npm offline. Prints the path of `heroku`.
#   HEROKU_CLI_VERSION  the version to install (pinned; the end-to-end suite is written against it)
#   HEROKU_CLI_CACHE    where to keep it (default ~/.cache/heroku-flags-backfill/heroku-cli)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# The plugin's production dependencies, resolved as plugins:install will resolve them; from the
# npm cache when it has them (then no request leaves the machine), else from the registry.
warm_npm_cache() {
  local scratch
  scratch=$(mktemp -d)
  node -e 'const {dependencies} = require(process.argv[1]); console.log(JSON.stringify({private: true, dependencies}))' \
    "$root/package.json" > "$scratch/package.json"
  local npm_install=(npm install --prefix "$scratch" --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
  # Resolving offline takes a second; a full install only when the cache cannot answer.
  if ! "${npm_install[@]}" --offline --package-lock-only >/dev/null 2>&1; then
    echo "caching the plugin's dependencies for an offline plugins:install" >&2
    "${npm_install[@]}" --prefer-offline >&2
  fi
  rm -rf "$scratch"
}

version=${HEROKU_CLI_VERSION:-11.10.0}
cache=${HEROKU_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/heroku-flags-backfill/heroku-cli}
dir=$cache/$version
bin=$dir/node_modules/.bin/heroku

warm_npm_cache
# The marker is written last, so an interrupted install is never mistaken for a complete one.
if [[ -f $dir/.complete && -x $bin ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
staging=$(mktemp -d "$cache/.install-$version-XXXXXX")
trap 'rm -rf "$staging"' EXIT
echo "installing heroku@$version into $dir (once; about a minute)" >&2
printf '{"name":"heroku-cli-cache","private":true}\n' > "$staging/package.json"
npm install --prefix "$staging" --no-audit --no-fund --omit=dev --loglevel=error "heroku@$version" >&2
touch "$staging/.complete"
rm -rf "$dir"
mv "$staging" "$dir"
trap - EXIT
echo "$bin"
