#!/usr/bin/env bash
# Ingest throughput, peak memory and stored size: dtar ingest vs borg import-tar
# (Debian's borgbackup, repokey, zstd level 3) on the same tar, in one run. Also restore
# time vs borg export-tar. Prints a table of figures and ratios (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/dtar-bench-ingest.XXXX)}
. bench/lib.sh
command -v borg >/dev/null || { echo "bench: needs borg (apt-get install borgbackup)" >&2; exit 2; }
npm run build --silent

[ -f "$WORK/data.tar" ] || make_data "$WORK"
size=$(stat -c %s "$WORK/data.tar")
cat "$WORK/data.tar" > /dev/null # both tools start from a warm page cache

export DTAR_PASSWORD=bench DTAR_STORE="$WORK/dtar-store" XDG_CACHE_HOME="$WORK/cache" BORG_PASSPHRASE=bench
rm -rf "$WORK/dtar-store" "$WORK/dtar-store-pipe" "$WORK/cache" "$WORK/borg"
bin/dtar.js init -q
borg init -e repokey "$WORK/borg" 2>/dev/null

time_cmd borg-ingest borg import-tar --compression zstd,3 "$WORK/borg::bench" "$WORK/data.tar"
time_cmd dtar-ingest bin/dtar.js ingest -q "$WORK/data.tar" -o "$WORK/data.index.tar"
time_cmd borg-restore sh -c "borg export-tar '$WORK/borg::bench' - > '$WORK/borg-out.tar'"
time_cmd dtar-restore bin/dtar.js restore -q "$WORK/data.index.tar" -o "$WORK/dtar-out.tar"
cmp "$WORK/data.tar" "$WORK/dtar-out.tar"
# The usual use, `tar c | dtar ingest`: input from a pipe, into a second fresh store.
DTAR_STORE="$WORK/dtar-store-pipe" bin/dtar.js init -q
time_cmd dtar-ingest-pipe sh -c "cat '$WORK/data.tar' | DTAR_STORE='$WORK/dtar-store-pipe' bin/dtar.js ingest -q -o '$WORK/pipe.index.tar'"

borg_stored=$(du -sb "$WORK/borg" | cut -f1)
dtar_stored=$(du -sb "$WORK/dtar-store" | cut -f1)
mb() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

echo "data: $(awk -v s="$size" 'BEGIN{printf "%.0f MB", s/1e6}') tar of system files, $(tar tf "$WORK/data.tar" | wc -l) entries; $(nproc) cores"
printf '%-22s %10s %10s %8s\n' "" dtar borg "ratio"
printf '%-22s %10s %10s %8s\n' "ingest MB/s" "$(mb "$size" "$(secs dtar-ingest)")" "$(mb "$size" "$(secs borg-ingest)")" "$(ratio "$(secs borg-ingest)" "$(secs dtar-ingest)")x"
printf '%-22s %10s %10s %8s\n' "ingest peak RSS MiB" "$(peak_mib dtar-ingest)" "$(peak_mib borg-ingest)" ""
printf '%-22s %10s %10s %8s\n' "piped ingest MB/s" "$(mb "$size" "$(secs dtar-ingest-pipe)")" "" "$(ratio "$(secs borg-ingest)" "$(secs dtar-ingest-pipe)")x"
printf '%-22s %10s %10s %8s\n' "piped peak RSS MiB" "$(peak_mib dtar-ingest-pipe)" "" ""
printf '%-22s %10s %10s %8s\n' "stored MB" "$(awk -v b="$dtar_stored" 'BEGIN{printf "%.1f", b/1e6}')" "$(awk -v b="$borg_stored" 'BEGIN{printf "%.1f", b/1e6}')" "$(ratio "$dtar_stored" "$borg_stored")"
printf '%-22s %10s %10s %8s\n' "restore MB/s" "$(mb "$size" "$(secs dtar-restore)")" "$(mb "$size" "$(secs borg-restore)")" "$(ratio "$(secs borg-restore)" "$(secs dtar-restore)")x"
echo "(ratio: how many times faster dtar is; for stored size, dtar / borg)"
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
