#!/usr/bin/env bash
# Runs the decoders under Valgrind memcheck (uninitialised reads, invalid
# accesses) on the release build: the fuzz corpora of every target and the
# golden archives (fuzz_api's corpus is left out: it compresses every input
# and would take many minutes under Valgrind; its decoding paths are
# fuzz_decode's). Complements the ASan+UBSan build, which cannot see reads
# of uninitialised memory. Needs a release build (scripts/build.sh release).
set -euo pipefail
cd "$(dirname "$0")/.."
vg=(valgrind -q --error-exitcode=99 --leak-check=no --track-origins=no)
for t in fuzz_decode fuzz_list fuzz_codec fuzz_roundtrip; do
  echo "== valgrind: $t corpus"
  "${vg[@]}" "build/tests/${t}_corpus" "fuzz/corpus/$t"
done
echo "== valgrind: golden archives"
"${vg[@]}" build/tests/sibyl_unit_tests --gtest_filter='Golden*' --gtest_brief=1
echo "== valgrind: clean"
