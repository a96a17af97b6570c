#!/usr/bin/env bash
# Same archive bytes for any SIMD level: the normal program (SSE2 kernels;
# and, where the CPU has AVX2, again with SIBYL_SIMD=avx2, the run-time
# AVX2 copy) and one built with -DSIBYL_NO_SIMD (scalar reference kernels)
# must write identical archives at every level, and each must decode the
# other's.
#   simd_equivalence.sh SIBYL SIBYL_SCALAR INPUT...
set -u
[ $# -ge 3 ] || { echo "usage: $0 SIBYL SIBYL_SCALAR INPUT..." >&2; exit 2; }
simd=$1 scalar=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
avx2=0
if "$simd" --version | grep -q 'CPU avx2'; then avx2=1; else echo "note: this CPU has no AVX2; only SSE2 and scalar are compared"; fi
for input in "$@"; do
  head -c 400000 "$input" >"$work/in"
  for level in 1 2 3 4 5 6 7 8 9; do
    if ! SIBYL_SIMD=sse2 "$simd" -"$level" -c "$work/in" >"$work/a.sby" || ! "$scalar" -"$level" -c "$work/in" >"$work/b.sby"; then
      echo "FAIL: level $level on $input: a program failed"
      fails=$((fails + 1))
    elif [ "$avx2" = 1 ] && ! { SIBYL_SIMD=avx2 "$simd" -"$level" -c "$work/in" >"$work/c.sby" && cmp -s "$work/a.sby" "$work/c.sby"; }; then
      echo "FAIL: level $level on $input: AVX2 and SSE2 archives differ or AVX2 failed"
      fails=$((fails + 1))
    elif [ "$avx2" = 1 ] && ! SIBYL_SIMD=avx2 "$simd" -d -c "$work/b.sby" | cmp -s - "$work/in"; then
      echo "FAIL: level $level on $input: the AVX2 decoder does not restore the input"
      fails=$((fails + 1))
    elif ! cmp -s "$work/a.sby" "$work/b.sby"; then
      echo "FAIL: level $level on $input: SIMD and scalar archives differ ($(wc -c <"$work/a.sby") vs $(wc -c <"$work/b.sby") bytes)"
      fails=$((fails + 1))
    elif ! "$scalar" -d -c "$work/a.sby" | cmp -s - "$work/in" || ! "$simd" -d -c "$work/b.sby" | cmp -s - "$work/in"; then
      echo "FAIL: level $level on $input: cross decoding does not restore the input"
      fails=$((fails + 1))
    else
      echo "ok - level $level, $(basename "$input"): $(wc -c <"$work/a.sby") bytes from every level"
    fi
  done
done
[ "$fails" -eq 0 ]
