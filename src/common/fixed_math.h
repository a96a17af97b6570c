// Fixed-point logistic math shared by every model.
//
// Probabilities inside models are 12-bit: p = P(bit = 1) * 4096, in [1, 4095].
// The "stretch" domain is the logit scaled by 256: d = 256 * ln(p / (1 - p)),
// clamped to [-2047, 2047]. squash() and stretch() are lookups in tables
// computed at compile time by det_exp()/det_log(), which use only IEEE
// +, -, *, / (exact and identical on every conforming platform), so the
// tables, and every probability derived from them, are the same everywhere.
#pragma once

#include <array>
#include <cstdint>

namespace sibyl {

constexpr int kProbBits = 12;
constexpr int kProbOne = 1 << kProbBits;  // 4096
constexpr int kStretchLimit = 2047;

namespace detail {
constexpr double kLn2 = 0.693147180559945309417232121458;

// x * 2^k, exact (repeated doubling/halving of a normal double).
constexpr double scale2(double x, int k) {
  while (k > 0) { x *= 2.0; --k; }
  while (k < 0) { x *= 0.5; ++k; }
  return x;
}
constexpr double floor_d(double v) {
  long long i = static_cast<long long>(v);  // truncates toward zero
  double f = static_cast<double>(i);
  return f > v ? f - 1.0 : f;
}
}  // namespace detail

// exp(x) for |x| <= 700: x = k ln2 + r, |r| <= ln2/2, Taylor series for exp(r).
constexpr double det_exp(double x) {
  double kd = x / detail::kLn2;
  long k = static_cast<long>(kd >= 0 ? kd + 0.5 : kd - 0.5);
  double r = x - static_cast<double>(k) * detail::kLn2;
  double term = 1.0, sum = 1.0;
  for (int i = 1; i < 24; ++i) {
    term = term * r / static_cast<double>(i);
    sum = sum + term;
  }
  return detail::scale2(sum, static_cast<int>(k));
}

// ln(y) for y > 0: y = m 2^e with m in [1, 2); ln m = 2 atanh((m-1)/(m+1)).
constexpr double det_log(double y) {
  int e = 0;
  double m = y;
  while (m >= 2.0) { m *= 0.5; ++e; }
  while (m < 1.0) { m *= 2.0; --e; }
  double z = (m - 1.0) / (m + 1.0);
  double z2 = z * z;
  double term = z, sum = 0.0;
  for (int i = 1; i < 80; i += 2) {
    sum = sum + term / static_cast<double>(i);
    term = term * z2;
  }
  return 2.0 * sum + static_cast<double>(e) * detail::kLn2;
}

namespace detail {
constexpr std::array<uint16_t, 4096> make_squash() {
  std::array<uint16_t, 4096> t{};
  for (int d = -2048; d <= 2047; ++d) {
    double v = 4096.0 / (1.0 + det_exp(-static_cast<double>(d) / 256.0));
    int p = static_cast<int>(floor_d(v + 0.5));
    if (p < 1) p = 1;
    if (p > 4095) p = 4095;
    t[d + 2048] = static_cast<uint16_t>(p);
  }
  return t;
}
constexpr std::array<int16_t, 4096> make_stretch() {
  std::array<int16_t, 4096> t{};
  for (int p = 0; p < 4096; ++p) {
    double q = p == 0 ? 0.5 : static_cast<double>(p);
    double v = 256.0 * det_log(q / (4096.0 - q));
    int d = static_cast<int>(floor_d(v + 0.5));
    if (d > kStretchLimit) d = kStretchLimit;
    if (d < -kStretchLimit) d = -kStretchLimit;
    t[p] = static_cast<int16_t>(d);
  }
  return t;
}
inline constexpr std::array<uint16_t, 4096> kSquash = make_squash();
inline constexpr std::array<int16_t, 4096> kStretch = make_stretch();
}  // namespace detail

// p in [0, 4095] -> d in [-2047, 2047]
inline int stretch(int p) { return detail::kStretch[static_cast<unsigned>(p) & 4095]; }

// d (any int) -> p in [1, 4095]
inline int squash(int d) {
  if (d > kStretchLimit) d = kStretchLimit;
  if (d < -kStretchLimit) d = -kStretchLimit;
  return detail::kSquash[d + 2048];
}

// Integer floor(log2(x)) for x > 0 (0 for x = 0).
inline int ilog2(uint32_t x) { return 31 - __builtin_clz(x | 1); }

}  // namespace sibyl
