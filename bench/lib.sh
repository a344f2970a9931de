# Shared by the benchmark scripts: timing with peak memory, and the test data.
# Sourced, not run.

# time_cmd LABEL CMD... : runs CMD, records wall seconds and peak RSS (KiB) in $WORK/LABEL.time
time_cmd() {
  local label=$1
  shift
  /usr/bin/time -f '%e %M' -o "$WORK/$label.time" "$@"
}
secs() { cut -d' ' -f1 "$WORK/$1.time"; }
peak_mib() { awk '{printf "%.0f", $2/1024}' "$WORK/$1.time"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# make_data DIR : the benchmark tar's source tree: system files (many small text files,
# binaries and libraries) — real data with real redundancy, the same on every run here.
make_data() {
  local dir=$1
  mkdir -p "$dir"
  tar -C / -cf "$dir/data.tar" usr/share/doc usr/share/man usr/share/locale usr/bin usr/lib/x86_64-linux-gnu 2>/dev/null || true
}
