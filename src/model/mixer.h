// Gated logistic mixer: combines N predictions in the stretch (logit)
// domain. K weight vectors are selected per bit, one from each of K weight
// tables by a small context each; every selected vector makes its own
// prediction and is trained online on it, and the output is the average of
// the K predictions in the stretch domain.
//
// Inputs x_i = stretch(p_i) are int16 in [-2047, 2047]; weights are int16
// with 13 fractional bits (|w| < 4):
//
//   st_k = (sum_i x_i * w_ki) >> 13            (exact 32-bit sum)
//   p_k  = squash(st_k)
//   e_k  = (bit * 4096 - p_k) * rate            (fits int16 for rate <= 7)
//   w_ki = saturate16(w_ki + ((x_i * e_k) >> 16))
//
// The SSE2 path (pmaddwd, pmulhw, paddsw) and the AVX2 one (the same, 16
// lanes wide; chosen at run time) compute exactly these integers; the
// scalar path is the reference, and unit tests prove they agree.
#pragma once

#include <cstdint>
#include <vector>

#include "common/fixed_math.h"
#include "common/simd.h"

namespace sibyl {

namespace mixer_kernel {

// Dot product of n (multiple of 8) int16 pairs, exact in int32.
inline int32_t dot_scalar(const int16_t* x, const int16_t* w, int n) {
  int32_t sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<int32_t>(x[i]) * w[i];
  return sum;
}

inline void train_scalar(const int16_t* x, int16_t* w, int n, int err) {
  for (int i = 0; i < n; ++i) {
    int32_t v = w[i] + ((static_cast<int32_t>(x[i]) * err) >> 16);
    w[i] = static_cast<int16_t>(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
  }
}

#if defined(SIBYL_SSE2)
inline int32_t dot_sse2(const int16_t* x, const int16_t* w, int n) {
  __m128i acc = _mm_setzero_si128();
  for (int i = 0; i < n; i += 8) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
    acc = _mm_add_epi32(acc, _mm_madd_epi16(a, b));
  }
  acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0x4e));
  acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0xb1));
  return _mm_cvtsi128_si32(acc);
}

inline void train_sse2(const int16_t* x, int16_t* w, int n, int err) {
  const __m128i e = _mm_set1_epi16(static_cast<int16_t>(err));
  for (int i = 0; i < n; i += 8) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
    b = _mm_adds_epi16(b, _mm_mulhi_epi16(a, e));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(w + i), b);
  }
}

// 16 inputs held in two registers (xa: 0-7, xb: 8-15), for callers that
// build them from scalars: stored one by one and reloaded as vectors they
// would stall store forwarding. The four int32 partial sums of the dot
// product (their total is dot_sse2's), and the training step of train_sse2.
inline __m128i madd16_sse2(__m128i xa, __m128i xb, const int16_t* w) {
  return _mm_add_epi32(_mm_madd_epi16(xa, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w))),
                       _mm_madd_epi16(xb, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 8))));
}

inline void train16_sse2(__m128i xa, __m128i xb, int16_t* w, int err) {
  const __m128i e = _mm_set1_epi16(static_cast<int16_t>(err));
  __m128i* const v = reinterpret_cast<__m128i*>(w);
  _mm_storeu_si128(v, _mm_adds_epi16(_mm_loadu_si128(v), _mm_mulhi_epi16(xa, e)));
  _mm_storeu_si128(v + 1, _mm_adds_epi16(_mm_loadu_si128(v + 1), _mm_mulhi_epi16(xb, e)));
}
#endif

#if defined(SIBYL_AVX2_DISPATCH)
// The same integers 16 lanes at a time (an 8-lane tail by the SSE2 kernel); only
// called where simd_level() reports AVX2.
SIBYL_TARGET_AVX2 inline int32_t dot_avx2(const int16_t* x, const int16_t* w, int n) {
  __m256i acc = _mm256_setzero_si256();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s) + (i < n ? dot_sse2(x + i, w + i, n - i) : 0);
}

SIBYL_TARGET_AVX2 inline void train_avx2(const int16_t* x, int16_t* w, int n, int err) {
  int i = 0;
  const __m256i e = _mm256_set1_epi16(static_cast<int16_t>(err));
  for (; i + 16 <= n; i += 16) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i));
    b = _mm256_adds_epi16(b, _mm256_mulhi_epi16(a, e));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + i), b);
  }
  if (i < n) train_sse2(x + i, w + i, n - i, err);
}
#endif

inline int32_t dot(const int16_t* x, const int16_t* w, int n) {
#if defined(SIBYL_SSE2)
  return dot_sse2(x, w, n);
#else
  return dot_scalar(x, w, n);
#endif
}

inline void train(const int16_t* x, int16_t* w, int n, int err) {
#if defined(SIBYL_SSE2)
  train_sse2(x, w, n, err);
#else
  train_scalar(x, w, n, err);
#endif
}

}  // namespace mixer_kernel

template <int N, int K>
class Mixer {
 public:
  static constexpr int kPadded = (N + 7) / 8 * 8;
  static constexpr int kWeightShift = 13;

  // sets[k]: number of weight vectors in table k. rate <= 7.
  Mixer(const int (&sets)[K], int initial_weight, int rate) : rate_(rate) {
    for (int k = 0; k < K; ++k) {
      weights_[k].assign(static_cast<size_t>(sets[k]) * kPadded, 0);
      for (size_t v = 0; v < static_cast<size_t>(sets[k]); ++v)
        for (int i = 0; i < N; ++i) weights_[k][v * kPadded + i] = static_cast<int16_t>(initial_weight);
    }
  }

  // Sets input i's weight in every vector (before coding starts).
  void init_input(int i, int16_t w) {
    for (int k = 0; k < K; ++k)
      for (size_t v = i; v < weights_[k].size(); v += kPadded) weights_[k][v] = w;
  }
  // Inputs in [-2047, 2047]; entries N..kPadded-1 stay zero.
  int16_t* inputs() {
#if defined(SIBYL_SSE2)
    have_xv_ = false;
#endif
    return x_;
  }
  // Sets all 16 inputs at once (kPadded == 16; entries N..15 must be 0),
  // kept in two registers for the same reason as set_inputs8.
  void set_inputs16(const int16_t (&v)[16]) {
    static_assert(kPadded == 16);
#if defined(SIBYL_SSE2)
    xv_ = _mm_setr_epi16(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    xv2_ = _mm_setr_epi16(v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]);
    _mm_store_si128(reinterpret_cast<__m128i*>(x_), xv_);
    _mm_store_si128(reinterpret_cast<__m128i*>(x_ + 8), xv2_);
    have_xv_ = true;
#else
    for (int i = 0; i < 16; ++i) x_[i] = v[i];
#endif
  }
  // Sets all 8 inputs at once (kPadded == 8). With SSE2 they stay in a
  // register for the dot product: storing them one by one and reloading
  // them as a vector stalls store forwarding on every bit.
  void set_inputs8(int16_t a, int16_t b, int16_t c, int16_t d, int16_t e, int16_t f, int16_t g, int16_t h) {
    static_assert(kPadded == 8);
#if defined(SIBYL_SSE2)
    xv_ = _mm_setr_epi16(a, b, c, d, e, f, g, h);
    _mm_store_si128(reinterpret_cast<__m128i*>(x_), xv_);
    have_xv_ = true;
#else
    const int16_t v[8] = {a, b, c, d, e, f, g, h};
    for (int i = 0; i < 8; ++i) x_[i] = v[i];
#endif
  }

  // select[k]: the weight vector used from table k. Returns the mixed
  // prediction in the stretch domain.
  int mix(const int (&select)[K]) {
    int total = 0;
    for (int k = 0; k < K; ++k) {
      int16_t* w = &weights_[k][static_cast<size_t>(select[k]) * kPadded];
      w_[k] = w;
#if defined(SIBYL_SSE2)
      int st;
      if constexpr (kPadded == 8 || kPadded == 16) {
        if (have_xv_) {
          __m128i acc;
          if constexpr (kPadded == 16) {
            acc = mixer_kernel::madd16_sse2(xv_, xv2_, w);
          } else {
            acc = _mm_madd_epi16(xv_, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
          }
          acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0x4e));
          acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0xb1));
          st = _mm_cvtsi128_si32(acc) >> kWeightShift;
        } else {
          st = mixer_kernel::dot(x_, w, kPadded) >> kWeightShift;
        }
      } else {
        st = mixer_kernel::dot(x_, w, kPadded) >> kWeightShift;
      }
#else
      int st = mixer_kernel::dot(x_, w, kPadded) >> kWeightShift;
#endif
      st = st > kStretchLimit ? kStretchLimit : (st < -kStretchLimit ? -kStretchLimit : st);
      p_[k] = squash(st);
      total += st;
    }
    return total / K;
  }

  void update(int bit) {
#if defined(SIBYL_SSE2)
    if constexpr (kPadded == 16) {
      if (have_xv_) {
        for (int k = 0; k < K; ++k) mixer_kernel::train16_sse2(xv_, xv2_, w_[k], ((bit << 12) - p_[k]) * rate_);
        return;
      }
    }
#endif
    for (int k = 0; k < K; ++k) mixer_kernel::train(x_, w_[k], kPadded, ((bit << 12) - p_[k]) * rate_);
  }

  // Weight table k (vectors of kPadded), for saving and restoring trained weights.
  std::vector<int16_t>& table(int k) { return weights_[k]; }
  const std::vector<int16_t>& table(int k) const { return weights_[k]; }

 private:
  std::vector<int16_t> weights_[K];
  int16_t* w_[K] = {};
  alignas(16) int16_t x_[kPadded] = {};
#if defined(SIBYL_SSE2)
  __m128i xv_ = _mm_setzero_si128();
  __m128i xv2_ = _mm_setzero_si128();  // inputs 8-15 (kPadded == 16)
  bool have_xv_ = false;
#endif
  int p_[K] = {};
  int rate_;
};

}  // namespace sibyl
