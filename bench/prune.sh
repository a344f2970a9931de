#!/usr/bin/env bash
# dtar prune on a store of ARCHIVES archives of FILES files each, as nightly backups look:
# each archive is the previous one with CHANGE files rewritten. Forgets every other archive,
# then times `dtar prune` (and its --dry-run) with peak memory; does the same on a store of
# a tenth of the archives, to show that memory follows the chunks in the store, not the
# number of archives. Prints the figures; bench/README.md keeps them.
# Usage: bench/prune.sh [ARCHIVES [FILES [CHANGE]]]   (default 100 10000 100)
#        bench/prune.sh flat [ARCHIVES [FILES]]      (default 100 10000)
# The flat form ingests one tar of FILES files ARCHIVES/2 times into one store and ARCHIVES
# times into another, so that the two hold the same chunks and differ only in the archives
# that use them, and a tar of 2 x FILES files ARCHIVES/2 times into a third (twice the
# chunks); it times `prune --dry-run` (what prune reads and keeps; nothing is dead) on each,
# as usual and under a heap cap (--max-old-space-size=FLAT_HEAP_MIB, default 40). The peak
# should not move from the first store to the second, and may from the first to the third.
# With WORK=DIR KEEP=1 the stores stay, and a later run with the same WORK measures them again
# without building them (DTAR_BIN=path/to/bin/dtar.js: another build, for before and after).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/dtar-bench-prune.XXXX)}
. bench/lib.sh
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT INT TERM
npm run build --silent

if [ "${1:-}" = flat ]; then
  FLAT=1
  shift
fi
ARCHIVES=${1:-100}
FILES=${2:-10000}
CHANGE=${3:-100}
export DTAR_PASSWORD=bench XDG_CACHE_HOME="$WORK/cache" DTAR_TEST_FAST_KDF=1 DTAR_QUIET=1
# As users run it: bin/dtar.js with the Node options of its #! line (they set the heap and malloc behaviour).
DTAR="${DTAR_BIN:-bin/dtar.js}"

# tree DIR : FILES files of 1-4 KiB of random bytes (one chunk each: they are below the chunker's minimum)
tree() {
  mkdir -p "$1"
  python3 - "$1" "$FILES" <<'PY'
import os, sys, random
d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(1)
for i in range(n):
    sub = os.path.join(d, f"d{i // 500:03}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"f{i:05}"), "wb") as f:
        f.write(os.urandom(r.randint(1024, 4096)))
PY
}

# cpu LABEL : user + system CPU seconds
cpu() { awk '{ printf "%.2f", $3 + $4 }' "$WORK/$1.time"; }

# flat LABEL N FILES : N archives of one tar of FILES files (the same chunks whatever N), then prune --dry-run twice
flat() {
  local label=$1 n=$2 files=$3 heap=${FLAT_HEAP_MIB:-40}
  local store=$WORK/store-$label tar=$WORK/flat-$files.tar
  export DTAR_STORE=$store
  if [ ! -f "$store/config" ]; then
    $DTAR init -q
    [ -f "$tar" ] || { FILES=$files tree "$WORK/flat-src-$files"; tar -C "$WORK/flat-src-$files" -cf "$tar" .; }
    local t0=$(date +%s)
    for i in $(seq 1 "$n"); do $DTAR ingest "$tar" --name nightly -q > /dev/null; done
    echo "$n archives ingested in $(( $(date +%s) - t0 )) s"
  fi
  time_cmd "flat-$label" $DTAR prune --dry-run --json > "$WORK/flat-$label.json"
  time_cmd "flat-cap-$label" env NODE_OPTIONS="--max-old-space-size=$heap" $DTAR prune --dry-run --json > "$WORK/flat-cap-$label.json"
  node -e '
    const p = require(process.argv[1]);
    console.log(`  ${p.archives} archives, ${p.liveChunks} live chunks, bricks ${p.before.bricks}`);
  ' "$WORK/flat-$label.json"
  echo "  prune --dry-run: wall $(secs "flat-$label") s, CPU $(cpu "flat-$label") s, peak $(peak_mib "flat-$label") MiB"
  echo "  the same, old space capped at $heap MiB: wall $(secs "flat-cap-$label") s, CPU $(cpu "flat-cap-$label") s, peak $(peak_mib "flat-cap-$label") MiB"
  echo "  store: $(du -sm "$store" | cut -f1) MiB, $(find "$store/indexes" -type f 2>/dev/null | wc -l) index copies"
}

if [ -n "${FLAT:-}" ]; then
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== one tar of $FILES files, $((ARCHIVES / 2)) archives"
  flat n $((ARCHIVES / 2)) "$FILES"
  echo "== the same tar, $ARCHIVES archives (the same chunks)"
  flat 2n "$ARCHIVES" "$FILES"
  echo "== one tar of $((FILES * 2)) files, $((ARCHIVES / 2)) archives (twice the chunks)"
  flat 2c $((ARCHIVES / 2)) $((FILES * 2))
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

# run STORE N : a store of N archives
run() {
  local store=$1 n=$2 src=$WORK/src-$2
  export DTAR_STORE=$store
  $DTAR init -q
  tree "$src"
  local t0=$(date +%s)
  for i in $(seq 1 "$n"); do
    python3 - "$src" "$FILES" "$CHANGE" "$i" <<'PY'
import os, sys, random
d, n, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
for i in r.sample(range(n), k):
    with open(os.path.join(d, f"d{i // 500:03}", f"f{i:05}"), "wb") as f:
        f.write(os.urandom(r.randint(1024, 4096)))
PY
    tar -C "$src" -cf - . | $DTAR ingest --name nightly -q > /dev/null
  done
  echo "$n archives ingested in $(( $(date +%s) - t0 )) s"
  $DTAR forget --keep-last $(( n / 2 )) -q > /dev/null
  time_cmd "dry-$n" $DTAR prune --dry-run --json > "$WORK/dry-$n.json"
  time_cmd "prune-$n" $DTAR prune --json > "$WORK/prune-$n.json"
  node -e '
    const p = require(process.argv[1]);
    console.log(`  ${p.archives} archives left, ${p.liveChunks} live chunks; deleted ${p.deleted.length} bricks, ${p.partlyDead.length} partly dead; bricks ${p.before.bricks} -> ${p.after.bricks}`);
  ' "$WORK/prune-$n.json"
  echo "  prune --dry-run: $(secs "dry-$n") s, peak $(peak_mib "dry-$n") MiB; prune: $(secs "prune-$n") s, peak $(peak_mib "prune-$n") MiB"
  echo "  store: $(du -sm "$store" | cut -f1) MiB, $(find "$store/bricks" -type f | wc -l) bricks, $(find "$store/catalogue" -type f | wc -l) segments"
}

echo "== $((ARCHIVES / 10)) archives of $FILES files, $CHANGE changed each time"
run "$WORK/store-small" $((ARCHIVES / 10))
echo "== $ARCHIVES archives of $FILES files, $CHANGE changed each time"
run "$WORK/store" "$ARCHIVES"
