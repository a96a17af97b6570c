#!/usr/bin/env bash
# Installs the release build into a scratch prefix and uses it as an
# outside project would:
#  - the examples (examples/) built with CMake's find_package(Sibyl), shared
#    and static, and with pkg-config, then run on the bundled sample and
#    checked against the sibyl program in both directions;
#  - libsibyl.so exports only the C API (sibyl_*);
#  - the man page is installed and renders.
#   scripts/install_test.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
echo "== install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name libsibyl.so -print -quit)")
for f in include/sibyl/sibyl.h include/sibyl/sibyl.hpp bin/sibyl share/man/man1/sibyl.1; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed" >&2; exit 1; }
done
[ -f "$libdir/libsibyl.a" ] && [ -f "$libdir/pkgconfig/sibyl.pc" ] && [ -f "$libdir/cmake/Sibyl/SibylConfig.cmake" ] || {
  echo "FAIL: library, sibyl.pc or CMake package missing under $libdir" >&2
  exit 1
}

echo "== exported symbols"
others=$(nm -D --defined-only "$libdir/libsibyl.so" | awk '{print $3}' | grep -v '^sibyl_' || true)
[ -z "$others" ] || { echo "FAIL: libsibyl.so exports more than sibyl_*: $others" >&2; exit 1; }
echo "libsibyl.so exports $(nm -D --defined-only "$libdir/libsibyl.so" | wc -l) symbols, all sibyl_*"
# libsibyl.a: internals are local; only the API and a few weak C++ symbols
# (typeinfo, inline variables; type V, u or W) of namespace sibyl stay global.
strong=$(nm -g --defined-only "$libdir/libsibyl.a" | awk 'NF == 3 && $2 ~ /^[TDBR]$/ {print $3}' | grep -v '^sibyl_' || true)
[ -z "$strong" ] || { echo "FAIL: libsibyl.a has global internal symbols: $(echo $strong | head -c 300)" >&2; exit 1; }
echo "libsibyl.a: $(nm -g --defined-only "$libdir/libsibyl.a" | awk 'NF == 3 && $2 ~ /^[TDBR]$/' | wc -l) strong global symbols, all sibyl_*"

echo "== man page"
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$prefix/share/man/man1/sibyl.1" 2>/dev/null | grep -q "compress or decompress files" ||
    { echo "FAIL: the man page does not render" >&2; exit 1; }
else
  grep -q '^\.TH SIBYL 1' "$prefix/share/man/man1/sibyl.1"
fi

echo "== examples with find_package(Sibyl)"
cmake -S examples -B "$work/ex" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/ex" >/dev/null

echo "== examples with pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c99 -Wall -Wextra -pedantic -Werror examples/c/stream.c $(pkg-config --cflags --libs sibyl) -o "$work/pc_c"
c++ -std=c++20 -Wall -Wextra -Werror examples/cpp/stream.cpp $(pkg-config --cflags --libs sibyl) -o "$work/pc_cpp"
[ "$(pkg-config --modversion sibyl)" = "$("$prefix/bin/sibyl" --version | awk '{print $2}')" ] ||
  { echo "FAIL: pkg-config version differs from the program's" >&2; exit 1; }

echo "== run them"
export LD_LIBRARY_PATH=$libdir
sample=samples/licenses.txt
for prog in "$work/ex/sibyl_stream_c" "$work/ex/sibyl_stream_cpp" "$work/ex/sibyl_stream_c_static" "$work/pc_c" "$work/pc_cpp"; do
  name=$(basename "$prog")
  "$prog" -c "$sample" "$work/$name.sby" 3
  "$prefix/bin/sibyl" -d -c "$work/$name.sby" | cmp -s - "$sample" || { echo "FAIL: $name output does not decode with sibyl" >&2; exit 1; }
  "$prefix/bin/sibyl" -3 -c "$sample" >"$work/cli.sby"
  cmp -s "$work/cli.sby" "$work/$name.sby" || { echo "FAIL: $name and sibyl -3 write different archives" >&2; exit 1; }
  "$prog" -d "$work/cli.sby" "$work/$name.out"
  cmp -s "$work/$name.out" "$sample" || { echo "FAIL: $name does not restore the sample" >&2; exit 1; }
  # A damaged archive: an error, non-zero exit, no output file left.
  head -c 100 "$work/cli.sby" >"$work/cut.sby"
  if "$prog" -d "$work/cut.sby" "$work/cut.out" 2>"$work/err"; then echo "FAIL: $name accepted a cut archive" >&2; exit 1; fi
  grep -q truncated "$work/err" || { echo "FAIL: $name: unexpected message: $(cat "$work/err")" >&2; exit 1; }
  [ ! -e "$work/cut.out" ] || { echo "FAIL: $name left a partial output" >&2; exit 1; }
  echo "ok - $name"
done
echo "== install test passed"
