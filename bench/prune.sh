#!/usr/bin/env bash
# dtar prune on a store of ARCHIVES archives of FILES files each, as nightly backups look:
# each archive is the previous one with CHANGE files rewritten. Forgets every other archive,
# then times `dtar prune` (and its --dry-run) with peak memory; does the same on a store of
# a tenth of the archives, to show that memory follows the chunks in the store, not the
# number of archives. Prints the figures; bench/README.md keeps them.
# Usage: bench/prune.sh [ARCHIVES [FILES [CHANGE]]]   (default 100 10000 100)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/dtar-bench-prune.XXXX)}
. bench/lib.sh
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT INT TERM
npm run build --silent

ARCHIVES=${1:-100}
FILES=${2:-10000}
CHANGE=${3:-100}
export DTAR_PASSWORD=bench XDG_CACHE_HOME="$WORK/cache" DTAR_TEST_FAST_KDF=1 DTAR_QUIET=1
DTAR="node bin/dtar.js"

# run STORE N : a store of N archives
run() {
  local store=$1 n=$2 src=$WORK/src-$2
  export DTAR_STORE=$store
  $DTAR init -q
  mkdir -p "$src"
  # FILES files of 1-4 KiB of random bytes (one chunk each: they are below the chunker's minimum)
  python3 - "$src" "$FILES" <<'PY'
import os, sys, random
d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(1)
for i in range(n):
    sub = os.path.join(d, f"d{i // 500:03}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"f{i:05}"), "wb") as f:
        f.write(os.urandom(r.randint(1024, 4096)))
PY
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
