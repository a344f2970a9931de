#!/usr/bin/env bash
# dtar against borg (Debian's borgbackup, repokey, zstd level 3) on the same tars, in one run
# (figures: bench/README.md). Run as root: restores start from a cold page cache.
#   ingest   the 1.3 GB tar of system files, from a warm page cache: dtar ingest from the
#            file and piped (`cat | dtar ingest`, into a second store) vs borg import-tar;
#            peak memory; stored size
#   restore  that tar and the 690 MB tar of /usr/lib (each in its own store and repository):
#            dtar restore vs borg export-tar into a pipe (as `dtar restore | tar x` runs),
#            each from a cold page cache, alternating, REPEAT times each (default 3): ranges
#            of seconds and of peak memory, and the ratio of each pair
#   extract  dtar extract of the whole archive vs dtar restore | tar x, cold, into an empty directory
#   floor    the bricks read and every chunk opened on two threads and nothing else
#            (bench/read-floor.ts), and `cat` of the bricks, both cold
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/dtar-bench-ingest.XXXX)}
REPEAT=${REPEAT:-3}
. bench/lib.sh
command -v borg >/dev/null || { echo "bench: needs borg (apt-get install borgbackup)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root: restores start from a cold page cache (/proc/sys/vm/drop_caches)" >&2; exit 2; }
npm run build --silent
load_before=$(uptime)

[ -f "$WORK/data.tar" ] || make_data "$WORK"
[ -f "$WORK/lib.tar" ] || make_lib "$WORK"
size=$(stat -c %s "$WORK/data.tar")
cat "$WORK/data.tar" > /dev/null # both tools ingest from a warm page cache

export DTAR_PASSWORD=bench XDG_CACHE_HOME="$WORK/cache" BORG_PASSPHRASE=bench
rm -rf "$WORK"/dtar-store-* "$WORK/cache" "$WORK"/borg-*
for set in data lib pipe; do DTAR_STORE="$WORK/dtar-store-$set" bin/dtar.js init -q; done
for set in data lib; do borg init -e repokey "$WORK/borg-$set" 2>/dev/null; done

time_cmd borg-ingest borg import-tar --compression zstd,3 "$WORK/borg-data::bench" "$WORK/data.tar"
time_cmd dtar-ingest env DTAR_STORE="$WORK/dtar-store-data" bin/dtar.js ingest -q "$WORK/data.tar" -o "$WORK/data.index.tar"
# The usual use, `tar c | dtar ingest`: input from a pipe, into a second fresh store.
time_cmd dtar-ingest-pipe sh -c "cat '$WORK/data.tar' | DTAR_STORE='$WORK/dtar-store-pipe' bin/dtar.js ingest -q -o '$WORK/pipe.index.tar'"
borg import-tar --compression zstd,3 "$WORK/borg-lib::bench" "$WORK/lib.tar"
DTAR_STORE="$WORK/dtar-store-lib" bin/dtar.js ingest -q "$WORK/lib.tar" -o "$WORK/lib.index.tar"

declare -A floor_open
for set in data lib; do
  DTAR_STORE="$WORK/dtar-store-$set" bin/dtar.js restore -q "$WORK/$set.index.tar" | cmp - "$WORK/$set.tar"
  for i in $(seq "$REPEAT"); do
    cold
    time_cmd "borg-restore-$set-$i" sh -c "borg export-tar '$WORK/borg-$set::bench' - | wc -c > /dev/null"
    cold
    time_cmd "dtar-restore-$set-$i" sh -c "DTAR_STORE='$WORK/dtar-store-$set' bin/dtar.js restore -q '$WORK/$set.index.tar' | wc -c > /dev/null"
  done
  for i in $(seq "$REPEAT"); do
    rm -rf "$WORK/out"; mkdir "$WORK/out"; cold
    time_cmd "dtar-extract-$set-$i" env DTAR_STORE="$WORK/dtar-store-$set" bin/dtar.js extract -q "$WORK/$set.index.tar" -C "$WORK/out"
    rm -rf "$WORK/out"; mkdir "$WORK/out"; cold
    time_cmd "dtar-restore-x-$set-$i" sh -c "DTAR_STORE='$WORK/dtar-store-$set' bin/dtar.js restore -q '$WORK/$set.index.tar' | tar x -C '$WORK/out'"
  done
  rm -rf "$WORK/out"
  cold
  time_cmd "floor-cat-$set" sh -c "find '$WORK/dtar-store-$set/bricks' -type f -exec cat {} + > /dev/null"
  cold
  floor_open[$set]=$(node dist/bench/read-floor.js "$WORK/dtar-store-$set" 2 | cut -d' ' -f1)
done

borg_stored=$(du -sb "$WORK/borg-data" | cut -f1)
dtar_stored=$(du -sb "$WORK/dtar-store-data" | cut -f1)
mb() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
runs() { local l=$1 i; for i in $(seq "$REPEAT"); do echo "$l-$i"; done; }
# pair_ratios SET : borg's seconds over dtar's, run by run, as a range
pair_ratios() {
  local i
  for i in $(seq "$REPEAT"); do ratio "$(secs "borg-restore-$1-$i")" "$(secs "dtar-restore-$1-$i")"; echo; done | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (lo == hi) printf "%sx", lo; else printf "%s-%sx", lo, hi }'
}

echo "data: $(awk -v s="$size" 'BEGIN{printf "%.0f MB", s/1e6}') tar of system files, $(tar tf "$WORK/data.tar" | wc -l) entries; lib: $(awk -v s="$(stat -c %s "$WORK/lib.tar")" 'BEGIN{printf "%.0f MB", s/1e6}'), $(tar tf "$WORK/lib.tar" | wc -l) entries; $(nproc) cores"
echo "load before: $load_before"
echo "load after:  $(uptime)"
printf '%-22s %10s %10s %8s\n' "" dtar borg "ratio"
printf '%-22s %10s %10s %8s\n' "ingest MB/s" "$(mb "$size" "$(secs dtar-ingest)")" "$(mb "$size" "$(secs borg-ingest)")" "$(ratio "$(secs borg-ingest)" "$(secs dtar-ingest)")x"
printf '%-22s %10s %10s %8s\n' "ingest peak RSS MiB" "$(peak_mib dtar-ingest)" "$(peak_mib borg-ingest)" ""
printf '%-22s %10s %10s %8s\n' "piped ingest MB/s" "$(mb "$size" "$(secs dtar-ingest-pipe)")" "" "$(ratio "$(secs borg-ingest)" "$(secs dtar-ingest-pipe)")x"
printf '%-22s %10s %10s %8s\n' "piped peak RSS MiB" "$(peak_mib dtar-ingest-pipe)" "" ""
printf '%-22s %10s %10s %8s\n' "stored MB" "$(awk -v b="$dtar_stored" 'BEGIN{printf "%.1f", b/1e6}')" "$(awk -v b="$borg_stored" 'BEGIN{printf "%.1f", b/1e6}')" "$(ratio "$dtar_stored" "$borg_stored")"
echo "restore, cold page cache, into a pipe, $REPEAT alternating runs each (seconds; ratio: borg's time over dtar's, run by run):"
for set in data lib; do
  printf '  %-5s dtar %s s, peak %s MiB; borg %s s, peak %s MiB; %s\n' "$set" "$(span $(runs "dtar-restore-$set"))" "$(peak_span $(runs "dtar-restore-$set"))" \
    "$(span $(runs "borg-restore-$set"))" "$(peak_span $(runs "borg-restore-$set"))" "$(pair_ratios "$set")"
  printf '        CPU (user + system, the whole pipeline): dtar %s s, borg %s s\n' "$(cpu_span $(runs "dtar-restore-$set"))" "$(cpu_span $(runs "borg-restore-$set"))"
done
echo "extract of the whole archive vs restore | tar x, cold (seconds):"
for set in data lib; do
  printf '  %-5s extract %s s, peak %s MiB; restore | tar x %s s\n' "$set" "$(span $(runs "dtar-extract-$set"))" "$(peak_span $(runs "dtar-extract-$set"))" "$(span $(runs "dtar-restore-x-$set"))"
done
echo "floor, cold (seconds): every chunk opened on two threads and nothing else; cat of the bricks:"
for set in data lib; do printf '  %-5s %s s; %s s\n' "$set" "${floor_open[$set]}" "$(secs "floor-cat-$set")"; done
echo "(ingest ratio: how many times faster dtar is; for stored size, dtar / borg)"
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
