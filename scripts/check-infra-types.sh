#!/usr/bin/env bash
# `bun run check:infra`: type-checks sst.config.ts and packages/infra/*.ts against SST's own
# component types, without AWS and without SST's downloads, so that a misspelled or misplaced
# component option fails here (and in CI) instead of at `sst deploy`.
#
# The SST CLI (npm package `sst`, pinned in package.json) carries its whole platform: `sst install`
# writes the component sources and `config.d.ts` to .sst/platform/ and installs their npm
# dependencies (@pulumi/aws, …) from the npm registry. Before that it checks its own tools in
# $XDG_CONFIG_HOME/sst/bin/ and downloads any that are missing, which needs github.com:
#   - `pulumi version` must print the Pulumi version the CLI was built with;
#   - `bun --version` must print the bun the CLI expects.
# This script provides both in a temporary XDG_CONFIG_HOME: the real bun binary from its npm
# package, and a stand-in `pulumi` that can only answer `version`. Nothing is deployed or
# previewed, so no Pulumi engine is needed. The temporary folder is removed on exit; .sst/ stays
# (git-ignored; it is the folder every SST command uses, and a rerun is faster with it).
set -euo pipefail
cd "$(dirname "$0")/.."

# The tool versions the pinned SST CLI checks for. Bumping `sst` in package.json means bumping
# these too: `sst install` then fails with the version it wanted.
SST_VERSION="4.17.1"
PULUMI_VERSION="v3.215.0"
BUN_VERSION="1.2.1"

started=$(date +%s)

installed_sst="$(node -p 'require("./node_modules/sst/package.json").version' 2>/dev/null || true)"
if [ "$installed_sst" != "$SST_VERSION" ]; then
  echo "check-infra: expected sst $SST_VERSION in node_modules (found '${installed_sst:-none}')." >&2
  echo "check-infra: run 'bun install', or update the versions at the top of $0." >&2
  exit 1
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) bun_package="@oven/bun-linux-x64" ;;
  Linux-aarch64 | Linux-arm64) bun_package="@oven/bun-linux-aarch64" ;;
  Darwin-arm64) bun_package="@oven/bun-darwin-aarch64" ;;
  Darwin-x86_64) bun_package="@oven/bun-darwin-x64" ;;
  *)
    echo "check-infra: no bun package known for $(uname -s)-$(uname -m)" >&2
    exit 1
    ;;
esac

work="$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-check-infra.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tools="$work/config/sst/bin"
mkdir -p "$tools"

# bun, fetched at run time from the npm registry (npm's cache makes reruns quick).
(cd "$work" && npm pack --silent "$bun_package@$BUN_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/bin/bun
mv "$work/package/bin/bun" "$tools/bun"
if [ "$("$tools/bun" --version)" != "$BUN_VERSION" ]; then
  echo "check-infra: $bun_package@$BUN_VERSION did not report version $BUN_VERSION" >&2
  exit 1
fi

cat >"$tools/pulumi" <<EOF
#!/bin/sh
# STAND-IN FOR OFFLINE TYPE-CHECKING ONLY (scripts/check-infra-types.sh).
# It is not Pulumi: it only answers \`pulumi version\` so that \`sst install\` accepts its tools
# without downloading them. Any other command fails loudly. It lives in a temporary
# XDG_CONFIG_HOME that is deleted after the check; never put it where \`sst deploy\` would find it.
if [ "\$1" = "version" ]; then
  echo "$PULUMI_VERSION"
  exit 0
fi
echo "pulumi stand-in (offline type-check only): refusing '\$*'" >&2
exit 1
EOF
chmod +x "$tools/pulumi"

echo "--- sst install (SST $SST_VERSION platform into .sst/platform)"
# The stage only names the evaluation of app(); nothing is deployed.
XDG_CONFIG_HOME="$work/config" SST_TELEMETRY_DISABLED=1 node_modules/.bin/sst install --stage test

if [ ! -f .sst/platform/config.d.ts ]; then
  echo "check-infra: sst install did not write .sst/platform/config.d.ts" >&2
  exit 1
fi

echo "--- tsc -p packages/infra/tsconfig.json"
node_modules/.bin/tsc -p packages/infra/tsconfig.json

echo "check-infra: sst.config.ts and packages/infra type-check against SST $SST_VERSION ($(($(date +%s) - started)) s)"
