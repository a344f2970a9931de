#!/usr/bin/env bash
# Installs what dtar needs on a Debian machine with Node 20, then builds it.
# Debian packages: libfuse2 + fuse (dtar mount), libarchive-tools (bsdtar, tests),
# attr (getfattr/setfattr, tests), zstd (tests), s3cmd (S3 listing test).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libfuse2 fuse libarchive-tools attr zstd s3cmd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "setup: installing ${need[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # zstd-napi downloads a prebuilt binary from GitHub, else compiles against Node's headers,
  # which node-gyp also downloads: where Node's own headers are installed, use them, so that
  # the install works without either download.
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ] && [ -f /usr/include/node/common.gypi ]; then
    export npm_config_nodedir=/usr
  fi
  npm ci --no-audit --no-fund
fi
npm run build --silent
