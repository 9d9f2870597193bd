#!/usr/bin/env bash
# Installs the real `heroku` CLI from npm into a cache folder outside the repository and prints
# the path of its executable. About 400 MB and a minute the first time; reused when present.
#   HEROKU_CLI_VERSION  the version to install (pinned; the end-to-end suite is written against it)
#   HEROKU_CLI_CACHE    where to keep it (default ~/.cache/heroku-flags-backfill/heroku-cli)
set -euo pipefail

version=${HEROKU_CLI_VERSION:-11.10.0}
cache=${HEROKU_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/heroku-flags-backfill/heroku-cli}
dir=$cache/$version
bin=$dir/node_modules/.bin/heroku

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
