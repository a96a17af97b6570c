// The switches for SIMD code paths. Every vector kernel has a scalar
// reference that computes exactly the same integers.
//
// Compile time: SIBYL_SSE2 selects the SSE2 kernels (the x86-64 baseline).
// Building with -DSIBYL_NO_SIMD forces the scalar paths: the
// `simd_equivalence` test builds a second program that way and checks that
// both write identical archives at every level.
//
// Run time: where SIBYL_AVX2_DISPATCH is defined, code compiled for AVX2
// (between SIBYL_BEGIN_AVX2_REGION and SIBYL_END_AVX2_REGION, or marked
// SIBYL_TARGET_AVX2) runs when simd_level() is kAvx2. Every level writes
// the same bytes; the level only changes speed.
#pragma once

#if defined(__SSE2__) && !defined(SIBYL_NO_SIMD)
#define SIBYL_SSE2 1
#include <emmintrin.h>
#endif

#if defined(SIBYL_SSE2) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SIBYL_AVX2_DISPATCH 1
#include <immintrin.h>
#define SIBYL_TARGET_AVX2 __attribute__((target("avx2")))
#if defined(__clang__)
#define SIBYL_BEGIN_AVX2_REGION _Pragma("clang attribute push(__attribute__((target(\"avx2\"))), apply_to = function)")
#define SIBYL_END_AVX2_REGION _Pragma("clang attribute pop")
#else
#define SIBYL_BEGIN_AVX2_REGION _Pragma("GCC push_options") _Pragma("GCC target(\"avx2\")")
#define SIBYL_END_AVX2_REGION _Pragma("GCC pop_options")
#endif
#endif

namespace sibyl {

enum class SimdLevel : int { kScalar = 0, kSse2 = 1, kAvx2 = 2 };

// The level used when SIBYL_SIMD does not name one (never above what the
// CPU has). Since the level-6 copy of the strong byte model has its own
// 256-bit paths, the AVX2 copies decode 3-5 % faster than the SSE2 ones
// and encode as fast; the circuit coder is about 6 % faster with AVX2
// (doc/models/bytes.md).
inline constexpr SimdLevel kDefaultSimdLevel = SimdLevel::kAvx2;

// The best level this build and this CPU support. The scalar level is a
// build (SIBYL_NO_SIMD), not a run-time choice.
SimdLevel simd_cpu_level();
// The level in use: the environment variable SIBYL_SIMD (`sse2` or `avx2`;
// other values are ignored) or kDefaultSimdLevel, never above
// simd_cpu_level(). Read once.
SimdLevel simd_level();
const char* simd_level_name(SimdLevel level);

}  // namespace sibyl
