#!/bin/sh
# The sibyl program with a prior, for ../shared/tools/compare.py --sibyl:
#   SIBYL_PRIOR=fm.prior compare.py --sibyl bench/sibyl_with_prior.sh ...
# SIBYL_ADAPT=1 adds --adapt (the collection regime) when compressing.
# (SIBYL_BIN: the program, default build/sibyl beside this script's parent).
here=$(cd "$(dirname "$0")/.." && pwd)
adapt=${SIBYL_ADAPT:+--adapt}
for a in "$@"; do [ "$a" = "-d" ] && adapt=; done
exec "${SIBYL_BIN:-$here/build/sibyl}" --prior "${SIBYL_PRIOR:?set SIBYL_PRIOR to a prior file}" $adapt "$@"
