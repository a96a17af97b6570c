#!/bin/bash
# Runs one libFuzzer target for a given time on its corpus.
#
#   scripts/fuzz.sh TARGET SECONDS [JOBS]     e.g. scripts/fuzz.sh fuzz_decode 1800
#   scripts/fuzz.sh --list
#
# Builds the fuzz preset (clang, ASan+UBSan+libFuzzer) if needed. New inputs
# that add coverage go to fuzz/corpus/TARGET/ (commit them: they run as
# tests); crashes to fuzz/crashes/TARGET/. Prints libFuzzer's final stats
# (executions, coverage) and exits non-zero if a crash was found.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(fuzz_decode fuzz_list fuzz_codec fuzz_roundtrip fuzz_api fuzz_lossy fuzz_png fuzz_pc)
if [[ ${1:-} == --list ]]; then printf '%s\n' "${targets[@]}"; exit 0; fi
if [[ $# -lt 2 ]]; then echo "usage: scripts/fuzz.sh TARGET SECONDS [JOBS] | --list" >&2; exit 2; fi
target=$1 secs=$2 jobs=${3:-1}
[[ " ${targets[*]} " == *" $target "* ]] || { echo "unknown target $target (scripts/fuzz.sh --list)" >&2; exit 2; }
if [[ ! -x build-fuzz/fuzz/$target ]]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz --target "$target" >/dev/null
fi
mkdir -p "fuzz/corpus/$target" "fuzz/crashes/$target"
log=$(mktemp)
set +e
# -rss_limit_mb: the decoder's own limit is 256-512 MiB; more is a finding.
par=()
# With -jobs libFuzzer forks workers that log to fuzz-N.log in the current
# directory; one job runs in-process and logs here.
[[ $jobs -gt 1 ]] && par=(-jobs="$jobs" -workers="$jobs")
"build-fuzz/fuzz/$target" "fuzz/corpus/$target" -max_total_time="$secs" "${par[@]}" \
  -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="fuzz/crashes/$target/" >"$log" 2>&1
rc=$?
set -e
grep -E "^(stat::|Done|#[0-9]+ *DONE)|ERROR|SUMMARY" "$log" | tail -20 || true
cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 || true)
echo "$target: exit $rc, ${cov:-cov: ?}, corpus $(ls "fuzz/corpus/$target" | wc -l) files, crashes $(ls "fuzz/crashes/$target" | wc -l)"
rm -f "$log"
exit $rc
