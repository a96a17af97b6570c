#!/usr/bin/env bash
# A/B speed test of two sibyl builds (or two SIMD levels of one build) that
# must write the same archives: the method behind the speed steps in
# doc/models/bytes.md ("Speed").
#
#   bench/ab_speed.sh [-n ROUNDS] [-l LEVEL] A B FILE...
#
# A and B are `BINARY` or `SIMD:BINARY` (SIMD: sse2 or avx2, passed as
# SIBYL_SIMD). Every file is compressed by both; the archives must be
# identical and decode to the input (else exit 1: a speed change must not
# change the output). Then ROUNDS rounds (default 3) time A and B in turn,
# compressing and decompressing all files, in wall-clock seconds; the
# minimum and median of the rounds are printed with MB/s. Alternating the
# two in every round matters on a shared machine whose speed drifts by
# 5-10 % within minutes. Needs bash, cmp, date and python3.
set -euo pipefail

rounds=3
level=6
while getopts "n:l:" opt; do
  case $opt in
    n) rounds=$OPTARG ;;
    l) level=$OPTARG ;;
    *) sed -n 2,15p "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 3 ]; then sed -n 2,15p "$0" >&2; exit 2; fi
a=$1 b=$2
shift 2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

simd_of() { case $1 in *:*) echo "${1%%:*}" ;; *) echo "" ;; esac; }
bin_of() { case $1 in *:*) echo "${1#*:}" ;; *) echo "$1" ;; esac; }
run() {  # run SPEC ARGS... (stdin/stdout as given)
  local spec=$1; shift
  local simd bin
  simd=$(simd_of "$spec"); bin=$(bin_of "$spec")
  if [ -n "$simd" ]; then SIBYL_SIMD=$simd "$bin" "$@"; else "$bin" "$@"; fi
}

bytes=0
i=0
for f in "$@"; do
  [ -f "$f" ] || { echo "ab_speed: not a file: $f" >&2; exit 2; }
  run "$a" "-$level" -c <"$f" >"$work/$i.a"
  run "$b" "-$level" -c <"$f" >"$work/$i.b"
  if ! cmp -s "$work/$i.a" "$work/$i.b"; then echo "ab_speed: $f: the two archives differ" >&2; exit 1; fi
  run "$b" -d -c <"$work/$i.a" | cmp -s - "$f" || { echo "ab_speed: $f: round trip failed" >&2; exit 1; }
  bytes=$((bytes + $(wc -c <"$f")))
  i=$((i + 1))
done
n=$i

now() { date +%s.%N; }
declare -A times
for ((r = 1; r <= rounds; r++)); do
  for spec in "$a" "$b"; do
    t0=$(now)
    for ((k = 0; k < n; k++)); do run "$spec" "-$level" -c <"${@:k+1:1}" >/dev/null; done
    t1=$(now)
    for ((k = 0; k < n; k++)); do run "$spec" -d -c <"$work/$k.a" >/dev/null; done
    t2=$(now)
    times[$spec]+=" $t0,$t1,$t2"
  done
done

echo "level $level, $n files, $bytes bytes, $rounds alternating rounds (wall seconds, min / median)"
for spec in "$a" "$b"; do
  python3 - "$spec" "$bytes" ${times[$spec]} <<'EOF'
import statistics, sys
spec, size, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
c = [float(x.split(",")[1]) - float(x.split(",")[0]) for x in runs]
d = [float(x.split(",")[2]) - float(x.split(",")[1]) for x in runs]
mb = size / 1e6
print(f"{spec}: compress {min(c):.2f} / {statistics.median(c):.2f} s ({mb / min(c):.3f} MB/s best), "
      f"decompress {min(d):.2f} / {statistics.median(d):.2f} s ({mb / min(d):.3f} MB/s best)")
EOF
done
