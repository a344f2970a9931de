#!/bin/sh
# Whole-store mount (issue 22): a store of 1,000 small archives (ARCHIVES), each a tar of a few
# hundred small files, mounted whole with `dtar mount MNT`, against the single-archive mount
# of one of the same indexes, in one run, cold page cache:
#   1. time from the mount command to a usable mount point, and resident memory once mounted
#   2. time of `ls -R` into one archive (its first use: the copy is fetched and loaded)
#   3. the floor under the mount time: `dtar archives` (start, key derivation, listing the
#      copies and reading their 1,000 sealed heads, no mount), and `dtar archives` of an empty
#      store (start and key derivation alone)
#   4. the same whole-store mount and `dtar archives` again with the heads cache the first
#      ones wrote (docs/FORMAT.md §11): the listing and no head read
# Usage: bench/store-mount.sh   (root, to drop the page cache). Results: bench/README.md.
# BENCH_DIR=DIR keeps the store there and reuses it on the next run (ingesting takes minutes).
set -eu
N=${ARCHIVES:-1000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/bench/lib.sh"
DTAR="$HERE/bin/dtar.js"
W=${BENCH_DIR:-$(mktemp -d /tmp/dtar-bench-store.XXXXXX)}
mkdir -p "$W"
export DTAR_STORE=$W/store DTAR_PASSWORD=bench XDG_CACHE_HOME=$W/cache
PIDS=""
cleanup() {
  for m in "$W"/mnt-*; do [ -d "$m" ] && fusermount3 -uz "$m" 2>/dev/null || true; done
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  [ -n "${BENCH_DIR:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM

if [ ! -f "$W/store/config" ]; then
rm -rf "$W/src" "$W/store" "$W/cache"
mkdir -p "$W/src"
python3 - "$W/src" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(20):
    os.makedirs(f'{root}/d{d:02}')
    for f in range(20):
        with open(f'{root}/d{d:02}/f{f:02}.txt', 'w') as fh: fh.write(f'{d} {f} ' * (f + 1))
PY
$DTAR init -q
# Each archive differs by one file, so each has an index of its own; two ingests at a time.
i=0
while [ $i -lt "$N" ]; do
  for j in 0 1; do
    k=$((i + j)); [ $k -lt "$N" ] || continue
    ( mkdir "$W/s$k"; echo "$k" > "$W/s$k/serial"; tar cf "$W/a$k.tar" -C "$W/src" . -C "$W/s$k" serial; rm -r "$W/s$k"
      $DTAR ingest -q --name "set$((k % 10))" "$W/a$k.tar" -o "$W/a$k.idx"; rm "$W/a$k.tar" ) &
  done
  wait
  i=$((i + 2))
done
fi
rm -rf "$W/cache"
echo "store: $N archives of $(find "$W/src" -type f | wc -l) files each (and one of its own), $(du -sh "$W/store" | cut -f1)"

# Mount time (to a usable mount point) and resident memory, whole store and single archive.
measure() { # NAME ARGS...
  name=$1; shift
  mkdir -p "$W/mnt-$name"; cold
  t0=$(now); $DTAR mount -q "$@" "$W/mnt-$name" & pid=$!; PIDS="$PIDS $pid"
  wait_mount "$W/mnt-$name"; ls "$W/mnt-$name" > /dev/null; t1=$(now)
  sleep 1; rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status)
  first=$(ls "$W/mnt-$name" | head -1)
  dir="$W/mnt-$name"; case $name in store*) dir="$W/mnt-$name/$first/latest" ;; esac
  t2=$(now); ls -R "$dir" > /dev/null; t3=$(now)
  kill -TERM $pid; wait $pid || true
  echo "$name: mounted in $(echo "$t1 - $t0" | bc) s, $((rss / 1024)) MiB resident; ls -R into one archive $(echo "$t3 - $t2" | bc) s"
}
measure store
measure store-heads-cached
measure single "$W/a0.idx"
[ -f "$W/empty/config" ] || DTAR_STORE=$W/empty $DTAR init -q
rm -f "$W"/cache/dtar/*/heads
cold; t0=$(now); $DTAR archives > /dev/null; t1=$(now); DTAR_STORE=$W/empty $DTAR archives -q > /dev/null; t2=$(now)
echo "floor: dtar archives $(echo "$t1 - $t0" | bc) s (listing and $N heads, cold); of an empty store $(echo "$t2 - $t1" | bc) s (start and key)"
cold; t0=$(now); $DTAR archives > /dev/null; t1=$(now)
echo "dtar archives with the heads cache: $(echo "$t1 - $t0" | bc) s (listing, no head read, cold page cache)"
