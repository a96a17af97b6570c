#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: the release build and
# the ASan+UBSan build, each with every unit, API, round-trip, golden,
# corruption, fuzz-corpus and CLI test; the installed package used by the
# examples (find_package and pkg-config); the API's threaded tests under
# ThreadSanitizer; then the decoders under Valgrind memcheck.
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
  if [ "$preset" = release ]; then scripts/install_test.sh build; fi
done
echo "== tsan: build (API and engine tests) and test"
scripts/build.sh tsan
ctest --preset tsan -j "$jobs"
scripts/valgrind.sh
echo "== all tests passed"
