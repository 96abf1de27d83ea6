#!/usr/bin/env bash
# The release workflow's packaging steps (.github/workflows/release.yml, publish job) run here
# without publishing: in a temporary git worktree of HEAD, with this machine's built module as
# the host's artifact and stand-ins for the other targets. Needs `npm run build` first.
#
#   bash scripts/release-dry-run.sh        (prints each command and its output)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/goqueue-release-XXXXXX")
cleanup() { git -C "$repo" worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n$ %s\n' "$*"; "$@" 2>&1; printf '[exit %s]\n' "$?"; }

git -C "$repo" worktree add --detach "$work/tree" HEAD >/dev/null 2>&1 || exit 1
cd "$work/tree" || exit 1
ln -s "$repo/node_modules" node_modules
cp -R "$repo/dist" dist
host_module=
for file in "$repo"/goqueue.*.node; do
  [ -e "$file" ] && host_module=$(basename "$file") && break
done
[ -n "$host_module" ] || { echo "no goqueue.<platform>.node in $repo: run npm run build" >&2; exit 1; }

step node scripts/sync-versions.mjs --check
step npx napi create-npm-dirs
# The artifacts folder as the publish job downloads it: bindings-<target>/goqueue.<platform>.node.
for target in $(node -p 'require("./package.json").napi.targets.join(" ")'); do
  platform=$(node --input-type=module -e "import { parseTriple } from '@napi-rs/cli'; console.log(parseTriple('$target').platformArchABI)")
  mkdir -p "artifacts/bindings-$target"
  if [ "goqueue.$platform.node" = "$host_module" ]; then
    cp "$repo/$host_module" "artifacts/bindings-$target/"
  else
    echo "stand-in for $target" >"artifacts/bindings-$target/goqueue.$platform.node"
  fi
done
step npx napi artifacts --output-dir artifacts --npm-dir npm
for dir in npm/*/; do (cd "$dir" && printf '\n## %s' "$dir" && step npm pack --dry-run); done
step npm pack --dry-run
step npx napi pre-publish -t npm --no-gh-release --dry-run
step npm publish --dry-run
