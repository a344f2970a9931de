#!/usr/bin/env bash
# Ingest with a writer key vs with the passphrase (issue 23; target: within 5%), on the same
# tar into fresh stores, alternating, REPEAT times each (default 3): wall and CPU seconds,
# and the ratio writer / passphrase of each. TAR=FILE to use another tar (default: the
# 690 MB tar of /usr/lib that bench/ingest.sh also uses). Figures: bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/dtar-bench-writer.XXXX)}
REPEAT=${REPEAT:-3}
. bench/lib.sh
npm run build --silent
load_before=$(uptime)
if [ -z "${TAR:-}" ]; then
  [ -f "$WORK/lib.tar" ] || make_lib "$WORK"
  TAR="$WORK/lib.tar"
fi
size=$(stat -c %s "$TAR")
cat "$TAR" > /dev/null # both ingest from a warm page cache

# timed LABEL CMD... : wall seconds, peak RSS and user + system CPU seconds of CMD
timed() {
  local label=$1
  shift
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/$label.time" "$@"
}
cpu() { awk '{ printf "%.2f", $3 + $4 }' "$WORK/$1.time"; }

export DTAR_PASSWORD=bench
for i in $(seq "$REPEAT"); do
  for how in passphrase writer; do
    store="$WORK/store-$how"
    rm -rf "$store" "$WORK/cache-$how" "$WORK/$how.idx"
    DTAR_STORE="$store" XDG_CACHE_HOME="$WORK/cache-$how" bin/dtar.js init -q
    if [ "$how" = writer ]; then
      DTAR_STORE="$store" XDG_CACHE_HOME="$WORK/cache-$how" bin/dtar.js key export-writer -q -o "$WORK/w.key"
      timed "$how-$i" env -u DTAR_PASSWORD DTAR_KEY_FILE="$WORK/w.key" DTAR_STORE="$store" XDG_CACHE_HOME="$WORK/cache-$how" bin/dtar.js ingest -q "$TAR" -o "$WORK/$how.idx"
    else
      timed "$how-$i" env DTAR_STORE="$store" XDG_CACHE_HOME="$WORK/cache-$how" bin/dtar.js ingest -q "$TAR" -o "$WORK/$how.idx"
    fi
  done
  DTAR_STORE="$WORK/store-writer" bin/dtar.js restore -q "$WORK/writer.idx" | cmp - "$TAR"
done

echo "$(awk -v s="$size" 'BEGIN{printf "%.0f MB", s/1e6}') tar, $(nproc) cores; load before: $load_before; after: $(uptime)"
printf '%-4s %22s %22s %12s %12s\n' run "passphrase wall/CPU s" "writer key wall/CPU s" "wall ratio" "CPU ratio"
for i in $(seq "$REPEAT"); do
  printf '%-4s %22s %22s %12s %12s\n' "$i" "$(secs "passphrase-$i") / $(cpu "passphrase-$i")" "$(secs "writer-$i") / $(cpu "writer-$i")" \
    "$(ratio "$(secs "writer-$i")" "$(secs "passphrase-$i")")" "$(ratio "$(cpu "writer-$i")" "$(cpu "passphrase-$i")")"
done
echo "(ratio: writer key / passphrase; 1.05 is the target's bound)"
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
