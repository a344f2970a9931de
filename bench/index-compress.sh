#!/bin/sh
# What writing the index compressed (`dtar ingest -o FILE.zst` / `.gz`, issue 22) costs ingest,
# on a tree of small files, where the index is largest relative to the data: man pages and
# perl modules. Each run ingests into a fresh store (no deduplication against a previous
# run); runs alternate plain, .zst and .gz so that a change in the machine's load falls on
# all three alike. Prints each run's wall and CPU (user + system, all threads) seconds, their
# medians, and the three index sizes. CPU time is the figure to compare on a busy machine:
# other load stretches wall time, not the work done.
# Usage: bench/index-compress.sh [RUNS]   Results: bench/README.md.
set -eu
RUNS=${1:-7}
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/bench/lib.sh"
DTAR="$HERE/bin/dtar.js"
W=$(mktemp -d /tmp/dtar-bench-idxz.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM
export DTAR_PASSWORD=bench XDG_CACHE_HOME=$W/cache
tar -C / -cf "$W/data.tar" usr/share/man usr/share/perl usr/lib/x86_64-linux-gnu/perl 2>/dev/null || true
echo "data: $(du -h "$W/data.tar" | cut -f1), $(tar tf "$W/data.tar" | wc -l) entries"
for i in $(seq "$RUNS"); do
  for ext in idx idx.zst idx.gz; do
    rm -rf "$W/store" "$W/out.$ext"; DTAR_STORE=$W/store $DTAR init -q
    DTAR_STORE=$W/store /usr/bin/time -f "$ext %e %U %S" -a -o "$W/times" $DTAR ingest -q "$W/data.tar" -o "$W/out.$ext"
    tail -1 "$W/times"
  done
done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for ext in idx idx.zst idx.gz; do
  wall=$(awk -v e="$ext" '$1 == e { print $2 }' "$W/times" | median)
  cpu=$(awk -v e="$ext" '$1 == e { print $3 + $4 }' "$W/times" | median)
  echo "$ext: median wall $wall s, CPU $cpu s; index $(stat -c %s "$W/out.$ext") bytes"
done
