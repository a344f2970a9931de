#!/usr/bin/env bash
# dtar on an S3 store vs a local store, same data, same machine: ingest, restore, and
# reading every file through dtar mount (or, without FUSE, extract). The S3 store is the
# test server (s3rver behind the test proxy on 127.0.0.1), so the figures measure dtar's
# S3 path (SDK, request pattern, concurrency), not a network. Prints seconds and the
# S3/local ratio of each (target: within 1.5x; bench/README.md).
# Usage: bench/s3.sh [DIR...]   (default: usr/share/man usr/share/doc, relative to /)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/dtar-bench-s3.XXXX)}
. bench/lib.sh
npm run build --silent

DIRS=("$@")
[ ${#DIRS[@]} -gt 0 ] || DIRS=(usr/share/man usr/share/doc)
[ -f "$WORK/data.tar" ] || tar -C / -cf "$WORK/data.tar" "${DIRS[@]}" 2>/dev/null || true
size=$(stat -c %s "$WORK/data.tar")
cat "$WORK/data.tar" > /dev/null # both runs start from a warm page cache

SERVER_PID=""
MOUNT_PIDS=""
cleanup() {
  for m in "$WORK"/mnt-*; do [ -d "$m" ] && fusermount -uz "$m" 2>/dev/null || true; done
  for p in $MOUNT_PIDS $SERVER_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

node dist/bench/s3-server.js bench > "$WORK/endpoint" &
SERVER_PID=$!
until [ -s "$WORK/endpoint" ]; do sleep 0.1; done
ENDPOINT=$(cat "$WORK/endpoint")

export DTAR_PASSWORD=bench XDG_CACHE_HOME="$WORK/cache" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
LOCAL=(--store "$WORK/local-store")
S3=(--store s3://bench/store --s3-endpoint "$ENDPOINT")
dtar() { bin/dtar.js "$@"; }

dtar init -q "${LOCAL[@]}"
dtar init -q "${S3[@]}"
time_cmd local-ingest bin/dtar.js ingest -q "$WORK/data.tar" -o "$WORK/local.idx" "${LOCAL[@]}"
time_cmd s3-ingest bin/dtar.js ingest -q "$WORK/data.tar" -o "$WORK/s3.idx" "${S3[@]}"
rm -rf "$WORK/cache" # restore and reads start without local caches
time_cmd local-restore bin/dtar.js restore -q "$WORK/local.idx" -o "$WORK/local-out.tar" "${LOCAL[@]}"
time_cmd s3-restore bin/dtar.js restore -q "$WORK/s3.idx" -o "$WORK/s3-out.tar" "${S3[@]}"
cmp "$WORK/data.tar" "$WORK/local-out.tar"
cmp "$WORK/data.tar" "$WORK/s3-out.tar"
rm -f "$WORK/local-out.tar" "$WORK/s3-out.tar"

# Reading every file: through dtar mount when FUSE works here, else dtar extract.
read_all() { # NAME INDEX STORE-ARGS...
  local name=$1 index=$2
  shift 2
  local mnt="$WORK/mnt-$name"
  mkdir -p "$mnt"
  rm -rf "$WORK/cache"
  if [ -e /dev/fuse ] && command -v fusermount > /dev/null; then
    bin/dtar.js mount -q "$index" "$mnt" "$@" &
    local pid=$!
    MOUNT_PIDS="$MOUNT_PIDS $pid"
    local i=0
    until mountpoint -q "$mnt"; do
      i=$((i + 1))
      if [ $i -gt 300 ] || ! kill -0 $pid 2> /dev/null; then READ_HOW=extract; break; fi
      sleep 0.1
    done
    if mountpoint -q "$mnt"; then
      READ_HOW=mount
      time_cmd "$name-read" sh -c "tar c -C '$mnt' . | wc -c > /dev/null"
      kill -TERM $pid; wait $pid || true
      return
    fi
  fi
  READ_HOW=extract
  time_cmd "$name-read" bin/dtar.js extract -q "$index" -C "$WORK/out-$name" "$@"
  rm -rf "$WORK/out-$name"
}
read_all local "$WORK/local.idx" "${LOCAL[@]}"
read_all s3 "$WORK/s3.idx" "${S3[@]}"

mbs() { awk -v b="$size" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
row() { printf '%-26s %8s %8s %8s %8s %7sx\n' "$1" "$(secs "local-$2")" "$(secs "s3-$2")" "$(mbs "$(secs "local-$2")")" "$(mbs "$(secs "s3-$2")")" "$(ratio "$(secs "s3-$2")" "$(secs "local-$2")")"; }
echo "data: $(awk -v s="$size" 'BEGIN{printf "%.0f MB", s/1e6}') tar of ${DIRS[*]}, $(tar tf "$WORK/data.tar" | wc -l) entries; $(nproc) cores; S3 = s3rver + test proxy on 127.0.0.1"
printf '%-26s %8s %8s %8s %8s %8s\n' "" "local s" "S3 s" "local MB/s" "S3 MB/s" "S3/local"
row ingest ingest
row restore restore
row "read every file ($READ_HOW)" read
echo "peak RSS MiB: ingest local $(peak_mib local-ingest), S3 $(peak_mib s3-ingest); restore local $(peak_mib local-restore), S3 $(peak_mib s3-restore)"
