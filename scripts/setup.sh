#!/usr/bin/env bash
# Installs what dtar needs on a Debian machine with Node 20, then builds it.
# Debian packages: libfuse3-dev, pkg-config and a C compiler build dtar's FUSE binding;
# fuse3 (fusermount3) lets a normal user mount and takes a mount down when its process dies;
# libarchive-tools (bsdtar, tests), attr (getfattr/setfattr, tests), zstd (tests), s3cmd (S3
# listing test). Nothing is removed: fuse3 replaces the libfuse 2 `fuse` package, whose
# `fusermount` name it keeps.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libfuse3-dev fuse3 pkg-config gcc make libarchive-tools attr zstd s3cmd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "setup: installing ${need[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  # fuse3 takes the place of libfuse 2's `fuse` package (keeping its fusermount name): go on
  # only if nothing else would be removed with it.
  others=$(apt-get -s install "${need[@]}" | awk '/^Remv / { print $2 }' | grep -vx fuse || true)
  if [ -n "$others" ]; then
    echo "setup: installing ${need[*]} would remove: $others; install fuse3 yourself, then run this again" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# zstd-napi downloads a prebuilt binary from GitHub, else compiles against Node's headers,
# which node-gyp also downloads: where Node's own headers are installed, use them, so that
# the install works without either download. dtar's FUSE binding (the package's install
# script: node-gyp in src/mount/native) builds against the same headers.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ] && [ -f /usr/include/node/common.gypi ]; then
  export npm_config_nodedir=/usr
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
addon=src/mount/native/build/Release/dtar_fuse.node
if [ ! -f "$addon" ] || [ src/mount/native/dtar_fuse.c -nt "$addon" ] || [ src/mount/native/binding.gyp -nt "$addon" ]; then
  npm run install --silent
fi
npm run build --silent
