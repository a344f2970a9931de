#!/usr/bin/env bash
# Issue 8: keyed vs unkeyed chunker speed, and the stored-size cost of padding, on the benchmark tar.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/dtar-bench-chunker.XXXX)}
. bench/lib.sh
npm run build --silent
[ -f "$WORK/data.tar" ] || make_data "$WORK"
node dist/bench/chunker.js "$WORK/data.tar"
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
