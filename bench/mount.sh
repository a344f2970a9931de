#!/bin/sh
# Benchmark of dtar mount against borg mount on the same data, in one run, cold caches:
#   1. read every file of big files: tar c -C MNT . | wc -c   (piped: GNU tar skips reading
#      when writing to /dev/null), DATA_DIR (default: the libraries, ~700 MB)
#   2. the same of small real files (SMALL_DIRS: man pages, docs, perl modules, >25,000 files)
#   3. find over those small files, also through the floor (5.)
#   4. read every one of 100,000 tiny files: tar c again (a request or two per file)
#   5. the floor of 1 and 2: tar c of the same trees through bench/fuse-floor.ts, dtar's own
#      FUSE binding with dtar's mount settings answering every read from memory, no store
#      behind it; and how many requests it answered per file of the small tree
#   6. mount time of the 100,000-file archive: from the mount command to a usable mount point
#   7. memory per entry of a mounted index (resident, read 2 s after mounting): what each entry
#      adds (mounts of the first 50,000 and of all 100,000 files: difference over 50,000), and
#      the average against a mounted one-file archive, which counts loading's fixed costs too
# Usage: bench/mount.sh [DATA_DIR]   (default /usr/lib/x86_64-linux-gnu; run as root to drop the page cache)
# Needs: a built dtar (npx tsc -p .), borgbackup, fuse. Results: bench/README.md.
set -eu
DATA=${1:-/usr/lib/x86_64-linux-gnu}
SMALL_DIRS=${SMALL_DIRS:-/usr/share/man /usr/share/doc /usr/share/perl /usr/share/perl5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/bench/lib.sh"
DTAR="$HERE/bin/dtar.js"
W=$(mktemp -d /tmp/dtar-bench-mount.XXXXXX)
export DTAR_STORE=$W/store DTAR_PASSWORD=bench XDG_CACHE_HOME=$W/cache BORG_PASSPHRASE=bench BORG_REPO=$W/borg
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_BASE_DIR=$W/borgbase
PIDS=""
cleanup() {
  for m in "$W"/mnt-*; do [ -d "$m" ] && fusermount -uz "$m" 2>/dev/null || true; done
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM


# Mounts with dtar (in the background) or borg, waits for it, prints seconds taken by "$@" run in the mount.
timed_dtar() { # INDEX NAME CMD
  mkdir -p "$W/mnt-$2"; cold
  $DTAR mount -q "$1" "$W/mnt-$2" & PIDS="$PIDS $!"; pid=$!
  wait_mount "$W/mnt-$2"
  c0=$(proc_cpu $pid)
  t0=$(now); sh -c "$3" _ "$W/mnt-$2" > /dev/null; t1=$(now)
  echo "$(proc_cpu $pid) - $c0" | bc > "$W/$2.cpu"
  kill -TERM $pid; wait $pid || true
  echo "$t1 - $t0" | bc
}
# CPU seconds (user + system, all threads) a process has used so far.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
timed_floor() { # DIR CMD [--count]
  mkdir -p "$W/mnt-floor"; cold
  node "$HERE/dist/bench/fuse-floor.js" "$1" "$W/mnt-floor" ${3:-} > "$W/floor.out" & PIDS="$PIDS $!"; pid=$!
  wait_mount "$W/mnt-floor"
  t0=$(now); sh -c "$2" _ "$W/mnt-floor" > /dev/null; t1=$(now)
  kill -TERM $pid; wait $pid || true
  echo "$t1 - $t0" | bc
}
# borg mount in the foreground (-f), in the background here: daemonized, it would start a session
# of its own, and the kernel's autogroups would share the CPU between it and this script's
# session as between two users, not as between two processes (a loaded machine favoured borg).
timed_borg() { # ARCHIVE NAME CMD
  mkdir -p "$W/mnt-$2"; cold
  borg mount -f "::$1" "$W/mnt-$2" & PIDS="$PIDS $!"; pid=$!
  wait_mount "$W/mnt-$2"
  t0=$(now); sh -c "$3" _ "$W/mnt-$2" > /dev/null; t1=$(now)
  borg umount "$W/mnt-$2"; wait $pid || true
  echo "$t1 - $t0" | bc
}

echo "data: $DATA"
# Members without a "./" prefix: borg mount shows "./x" paths under an unlistable "." directory.
members() { (cd "$1" && ls -A) | tar cf "$2" -C "$1" -T -; }
members "$DATA" "$W/data.tar"
mkdir -p "$W/small"
for d in $SMALL_DIRS; do cp -a "$d" "$W/small/$(echo "$d" | tr / _)"; done
members "$W/small" "$W/small.tar"
small_files=$(find "$W/small" -type f | wc -l)
mkdir -p "$W/many/src"
python3 - "$W/many/src" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    p = f'{root}/d{d:03}'
    os.makedirs(p)
    for f in range(1000):
        with open(f'{p}/file{f:04}.txt', 'w') as fh: fh.write(f'{d} {f} ' * (f % 50 + 1))
PY
members "$W/many/src" "$W/many.tar"
echo "tar sizes: $(du -h "$W/data.tar" | cut -f1) data, $(du -h "$W/small.tar" | cut -f1) for $small_files small real files, $(du -h "$W/many.tar" | cut -f1) for 100,000 tiny files"

$DTAR init -q
$DTAR ingest -q "$W/data.tar" -o "$W/data.idx"
$DTAR ingest -q "$W/many.tar" -o "$W/many.idx"
$DTAR ingest -q "$W/small.tar" -o "$W/small.idx"
borg init -e repokey
# The same compressor as dtar's default (borg's own default is lz4: faster to read, larger).
borg import-tar --compression zstd,3 ::data "$W/data.tar"
borg import-tar --compression zstd,3 ::small "$W/small.tar"
borg import-tar --compression zstd,3 ::many "$W/many.tar"

mkdir -p "$W/one/src"; echo one > "$W/one/src/file"
members "$W/one/src" "$W/one.tar"
$DTAR ingest -q "$W/one.tar" -o "$W/one.idx"
(cd "$W/many/src" && ls -A | head -50) | tar cf "$W/half.tar" -C "$W/many/src" -T -
$DTAR ingest -q "$W/half.tar" -o "$W/half.idx"

READ='tar c -C "$1" . | wc -c'
FIND='find "$1" | wc -l'
# The tree cache (docs/FORMAT.md §10): without it, a mount parses its index.
forget_trees() { rm -rf "$W"/cache/dtar/*/trees; }
# Seconds from starting a mount of the 100,000-file archive to the mount point answering.
ready_dtar() {
  mkdir -p "$W/mnt-dready"; cold
  t0=$(now); $DTAR mount -q "$W/many.idx" "$W/mnt-dready" & PIDS="$PIDS $!"; pid=$!
  wait_mount "$W/mnt-dready"; t1=$(now)
  kill -TERM $pid; wait $pid || true
  echo "$t1 - $t0" | bc
}
ready_borg() {
  mkdir -p "$W/mnt-bready"; cold
  t0=$(now); borg mount -f "::many" "$W/mnt-bready" & PIDS="$PIDS $!"; pid=$!
  wait_mount "$W/mnt-bready"; ls "$W/mnt-bready" > /dev/null; t1=$(now)
  borg umount "$W/mnt-bready"; wait $pid || true
  echo "$t1 - $t0" | bc
}

d_read=$(timed_dtar "$W/data.idx" dread "$READ")
b_read=$(timed_borg data bread "$READ")
f_read=$(timed_floor "$DATA" "$READ")
d_small=$(timed_dtar "$W/small.idx" dsmall "$READ")
b_small=$(timed_borg small bsmall "$READ")
f_small=$(timed_floor "$W/small" "$READ" --count)
requests=$(sed -n 's/^requests: //p' "$W/floor.out")
# find and the mount time are each under a second: the median of three fresh mounts each.
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
d_find=$(median3 "$(timed_dtar "$W/small.idx" dfind "$FIND")" "$(timed_dtar "$W/small.idx" dfind "$FIND")" "$(timed_dtar "$W/small.idx" dfind "$FIND")")
b_find=$(median3 "$(timed_borg small bfind "$FIND")" "$(timed_borg small bfind "$FIND")" "$(timed_borg small bfind "$FIND")")
f_find=$(median3 "$(timed_floor "$W/small" "$FIND")" "$(timed_floor "$W/small" "$FIND")" "$(timed_floor "$W/small" "$FIND")")
d_many=$(timed_dtar "$W/many.idx" dmany "$READ")
b_many=$(timed_borg many bmany "$READ")
# Resident KiB of a dtar mount of INDEX, settled.
rss_dtar() {
  forget_trees; mkdir -p "$W/mnt-rss"
  $DTAR mount -q "$1" "$W/mnt-rss" & PIDS="$PIDS $!"; pid=$!
  wait_mount "$W/mnt-rss"; ls "$W/mnt-rss" > /dev/null; sleep 2
  awk '/^VmRSS:/ { print $2 }' /proc/$pid/status
  kill -TERM $pid; wait $pid || true
}
forget_trees
first_dtar() { forget_trees; ready_dtar; }
d_first=$(median3 "$(first_dtar)" "$(first_dtar)" "$(first_dtar)")
d_ready=$(median3 "$(ready_dtar)" "$(ready_dtar)" "$(ready_dtar)")
b_ready=$(median3 "$(ready_borg)" "$(ready_borg)" "$(ready_borg)")
rss_one=$(rss_dtar "$W/one.idx")
rss_half=$(rss_dtar "$W/half.idx")
rss_many=$(rss_dtar "$W/many.idx")
echo "read all, big files (tar c): dtar ${d_read}s, borg ${b_read}s, borg/dtar = $(echo "scale=2; $b_read / $d_read" | bc) (target 2); the floor ${f_read}s; the dtar mount's own CPU during it $(cat "$W/dread.cpu")s"
echo "read all, $small_files small real files (tar c): dtar ${d_small}s, borg ${b_small}s, borg/dtar = $(echo "scale=2; $b_small / $d_small" | bc) (target 2); the floor ${f_small}s"
echo "requests the floor answered for tar c of the small files: $requests"
echo "find, $small_files small real files: dtar ${d_find}s, borg ${b_find}s, borg/dtar = $(echo "scale=2; $b_find / $d_find" | bc) (target 4); the floor ${f_find}s (medians of three mounts)"
echo "read all, 100,000 small files (tar c): dtar ${d_many}s, borg ${b_many}s, borg/dtar = $(echo "scale=2; $b_many / $d_many" | bc)"
echo "mount, 100,000 files: dtar ${d_first}s the first time (parsing the index), ${d_ready}s again (its tree kept), borg ${b_ready}s (to a usable mount point, medians of three; target: dtar under 1 s)"
echo "memory of a mounted index: $((rss_many / 1024)) MiB for 100,000 files, $((rss_half / 1024)) MiB for 50,000, $((rss_one / 1024)) MiB for one: each entry adds $(( (rss_many - rss_half) * 1024 / 50000 )) bytes, $(( (rss_many - rss_one) * 1024 / 100000 )) on average with loading's fixed costs (target: under 200)"
