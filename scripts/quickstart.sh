#!/usr/bin/env bash
# The README's first command: install what is missing, then back up real files into the
# default local store, list the backup, restore it and check it is byte-identical.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

dtar() { bin/dtar.js "$@"; }
if [ -z "${DTAR_PASSWORD:-}" ] && [ -z "${DTAR_PASSWORD_FILE:-}" ]; then
  export DTAR_PASSWORD_FILE="${XDG_CONFIG_HOME:-$HOME/.config}/dtar/passphrase"
  if [ ! -f "$DTAR_PASSWORD_FILE" ]; then
    mkdir -p "$(dirname "$DTAR_PASSWORD_FILE")"
    (umask 077 && head -c 24 /dev/urandom | base64 > "$DTAR_PASSWORD_FILE")
    echo "quickstart: new passphrase in $DTAR_PASSWORD_FILE (keep it: it opens the store)"
  fi
fi
store="${DTAR_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/dtar/store}"
[ -f "$store/config" ] || dtar init

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=/usr/share/doc
echo "quickstart: backing up $src"
tar -C "$src" -cf "$work/original.tar" .
dtar ingest "$work/original.tar" --name quickstart -o "$work/doc.index.tar"
echo "quickstart: the index lists like the original (first lines of tar tvf):"
tar tvf "$work/doc.index.tar" | sed -n 1,5p  # sed, not head: no SIGPIPE under pipefail
echo "quickstart: dtar ls -l shows the real sizes:"
dtar ls -l "$work/doc.index.tar" | sed -n 1,5p
dtar restore "$work/doc.index.tar" -o "$work/restored.tar"
cmp "$work/original.tar" "$work/restored.tar"
echo "quickstart: restored tar is byte-identical to the original ($(stat -c %s "$work/original.tar") bytes)"
