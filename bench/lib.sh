# Shared by the benchmark scripts: timing with peak memory, the page cache, the test data, and mounts.
# Sourced, not run (by bash and by sh scripts alike: POSIX shell only).

# time_cmd LABEL CMD... : runs CMD, records wall seconds, peak RSS (KiB) and CPU seconds (user,
# system) in $WORK/LABEL.time
time_cmd() {
  local label=$1
  shift
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/$label.time" "$@"
}
secs() { cut -d' ' -f1 "$WORK/$1.time"; }
# cpu_span LABEL... : "min-max" of user + system CPU seconds: steadier than wall time on a shared machine
cpu_span() {
  local l
  for l in "$@"; do awk '{ printf "%.2f\n", $3 + $4 }' "$WORK/$l.time"; done | awk 'NF { if (n++ == 0 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { if (lo == hi) printf "%s", lo; else printf "%s-%s", lo, hi }'
}
peak_mib() { awk '{printf "%.0f", $2/1024}' "$WORK/$1.time"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# cold : writes dirty pages back and drops the page cache (needs root), so that the next
# command reads from the disk as a restore after a reboot would
cold() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
}

# span LABEL... : "min-max" of the seconds of the runs labelled (one figure when they agree)
span() {
  local l
  for l in "$@"; do secs "$l"; echo; done | awk 'NF { if (n++ == 0 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { if (lo == hi) printf "%s", lo; else printf "%s-%s", lo, hi }'
}
# peak_span LABEL... : "min-max" of the peak resident sizes, MiB
peak_span() {
  local l
  for l in "$@"; do peak_mib "$l"; echo; done | awk 'NF { if (n++ == 0 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { if (lo == hi) printf "%s", lo; else printf "%s-%s", lo, hi }'
}

# make_data DIR : the benchmark tar's source tree: system files (many small text files,
# binaries and libraries) — real data with real redundancy, the same on every run here.
make_data() {
  local dir=$1
  mkdir -p "$dir"
  tar -C / -cf "$dir/data.tar" usr/share/doc usr/share/man usr/share/locale usr/bin usr/lib/x86_64-linux-gnu 2>/dev/null || true
}

# make_lib DIR : the second benchmark tar: the shared libraries alone (large files, few small ones).
make_lib() {
  local dir=$1
  mkdir -p "$dir"
  tar -C / -cf "$dir/lib.tar" usr/lib/x86_64-linux-gnu 2>/dev/null || true
}

# now : seconds since the epoch, with nanoseconds
now() { date +%s.%N; }
# wait_mount DIR : until DIR is a mount point, at most a minute
wait_mount() { i=0; until mountpoint -q "$1"; do i=$((i+1)); [ $i -lt 3000 ] || { echo "no mount at $1" >&2; exit 1; }; sleep 0.02; done; }
