#!/usr/bin/env bash
# Sets everything up and runs Sibyl's main job on the bundled sample:
# compress, decompress, verify byte-exactness, print sizes and speed.
#   scripts/demo.sh [FILE]     (default: samples/licenses.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release >/dev/null
sample="${1:-samples/licenses.txt}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { if (ns < 1) ns = 1; printf "%.2f", b / (ns / 1e9) / 1e6 }'; }
size=$(stat -c %s "$sample")
printf '%-8s %12s %12s %8s %12s %12s  %s\n' level input output ratio "comp MB/s" "decomp MB/s" check
for level in 1 6 9; do
  t0=$(now); build/sibyl -"$level" -c "$sample" > "$work/s.sby"; t1=$(now)
  build/sibyl -d -c "$work/s.sby" > "$work/s.out"; t2=$(now)
  check=FAILED
  cmp -s "$sample" "$work/s.out" && check=byte-exact
  out=$(stat -c %s "$work/s.sby")
  printf '%-8s %12d %12d %8.3f %12s %12s  %s\n' "-$level" "$size" "$out" "$(awk -v a="$out" -v b="$size" 'BEGIN{print a/b}')" \
    "$(mbps "$size" $((t1 - t0)))" "$(mbps "$size" $((t2 - t1)))" "$check"
  [[ $check == byte-exact ]] || exit 1
done
build/sibyl -t "$work/s.sby" && echo "sibyl -t: archive verified"
build/sibyl -l "$work/s.sby"
