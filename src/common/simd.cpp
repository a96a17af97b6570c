#include "common/simd.h"

#include <cstdlib>
#include <cstring>

namespace sibyl {

namespace {
SimdLevel detect_cpu() {
#if defined(SIBYL_SSE2)
  SimdLevel best = SimdLevel::kSse2;
#if defined(SIBYL_AVX2_DISPATCH)
  // libgcc's and compiler-rt's CPU probe also checks that the OS saves the
  // YMM registers (XGETBV) before it reports AVX2.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) best = SimdLevel::kAvx2;
#endif
  return best;
#else
  return SimdLevel::kScalar;
#endif
}

SimdLevel choose() {
  const SimdLevel cpu = simd_cpu_level();
  SimdLevel want = kDefaultSimdLevel;
  if (const char* env = std::getenv("SIBYL_SIMD")) {
    if (std::strcmp(env, "sse2") == 0) want = SimdLevel::kSse2;
    else if (std::strcmp(env, "avx2") == 0) want = SimdLevel::kAvx2;
  }
  return want < cpu ? want : cpu;
}
}  // namespace

SimdLevel simd_cpu_level() {
  static const SimdLevel level = detect_cpu();
  return level;
}

SimdLevel simd_level() {
  static const SimdLevel level = choose();
  return level;
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx2: return "avx2";
    case SimdLevel::kSse2: return "sse2";
    default: return "scalar";
  }
}

}  // namespace sibyl
