// The one switch for SIMD code paths. Every vector kernel has a scalar
// reference that computes exactly the same integers; SIBYL_SSE2 selects the
// vector version. Building with -DSIBYL_NO_SIMD forces the scalar paths:
// the `simd_equivalence` test builds a second program that way and checks
// that both write identical archives at every level (same bytes for any
// SIMD level).
#pragma once

#if defined(__SSE2__) && !defined(SIBYL_NO_SIMD)
#define SIBYL_SSE2 1
#include <emmintrin.h>
#endif
