// Conversions between the bit patterns of f32, f16, bf16, f64 and double,
// written out so that every build gives the same bits (round to nearest,
// ties to even; no reliance on a compiler's half-precision support).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace sibyl::tensor {

inline float float_of_bits(uint32_t u) { return std::bit_cast<float>(u); }
inline uint32_t bits_of_float(float f) { return std::bit_cast<uint32_t>(f); }
inline double double_of_bits(uint64_t u) { return std::bit_cast<double>(u); }
inline uint64_t bits_of_double(double d) { return std::bit_cast<uint64_t>(d); }

// Exact: every f16 value is a float.
inline float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 31u, m = h & 0x3ffu;
  if (e == 31) return float_of_bits(sign | 0x7f800000u | (m << 13));
  if (e != 0) return float_of_bits(sign | ((e + 112) << 23) | (m << 13));
  // Subnormal: m * 2^-24.
  const float v = static_cast<float>(m) * 5.9604644775390625e-8f;
  return sign ? -v : v;
}

inline uint16_t float_to_f16(float f) {
  const uint32_t u = bits_of_float(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t fe = (u >> 23) & 0xffu;
  uint32_t m = u & 0x7fffffu;
  if (fe == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (m ? 0x200u | (m >> 13) : 0));
  const int e = static_cast<int>(fe) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    m |= 0x800000u;
    const int shift = 14 - e;
    uint32_t v = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (v & 1))) ++v;
    return static_cast<uint16_t>(sign | v);
  }
  uint32_t v = (static_cast<uint32_t>(e) << 10) | (m >> 13);
  const uint32_t rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (v & 1))) ++v;  // may carry into the exponent: correct
  return static_cast<uint16_t>(sign | v);
}

inline float bf16_to_float(uint16_t b) { return float_of_bits(static_cast<uint32_t>(b) << 16); }

inline uint16_t float_to_bf16(float f) {
  const uint32_t u = bits_of_float(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays NaN
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

// A double as float without undefined behaviour: out-of-range values become
// infinities (IEEE round to nearest), NaN stays NaN.
inline float narrow_to_float(double v) {
  constexpr double kMax = static_cast<double>(std::numeric_limits<float>::max());
  if (std::isnan(v)) return std::numeric_limits<float>::quiet_NaN();
  // Values beyond the largest float by at least half an ulp round to infinity.
  constexpr double kHalfUlp = 0x1p103;  // half an ulp at FLT_MAX (whose ulp is 2^104)
  if (v >= kMax + kHalfUlp) return std::numeric_limits<float>::infinity();
  if (v <= -(kMax + kHalfUlp)) return -std::numeric_limits<float>::infinity();
  if (v > kMax) return std::numeric_limits<float>::max();
  if (v < -kMax) return -std::numeric_limits<float>::max();
  return static_cast<float>(v);
}

}  // namespace sibyl::tensor
