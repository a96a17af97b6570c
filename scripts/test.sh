#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: the release build and
# the ASan+UBSan build, each with every unit, round-trip, golden, corruption,
# fuzz-corpus and CLI test, then the decoders under Valgrind memcheck.
# Tests that need ../shared/corpus say so and skip where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
for preset in release asan; do
  echo "== $preset: build"
  scripts/build.sh "$preset"
  echo "== $preset: test"
  ctest --preset "$preset" -j "$jobs"
done
scripts/valgrind.sh
echo "== all tests passed"
