#!/usr/bin/env bash
# Installs everything Sibyl needs to build and test, from Debian 12 packages.
# Idempotent: packages already present are not fetched again.
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --bench    also the reference compressors used by ../shared/tools/compare.py
#                               and bench/tensor_reference.py (zfp)
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config git python3
      libxxhash-dev zlib1g-dev libpng-dev libgtest-dev libgmock-dev libbenchmark-dev
      clang libclang-rt-14-dev llvm valgrind)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(gzip bzip2 xz-utils zstd brotli bzip3 7zip zpaq flac wavpack libjxl-tools webp optipng hyperfine zfp)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
